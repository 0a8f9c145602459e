import Foundation
import Testing

/// Kill -9 harness: flushes are killed with SIGKILL at every step of the commit protocol while appends
/// continue in other processes; afterwards one clean flush must leave an archive equal to the hot store.
///
/// `ARCHIVER_CRASH_CYCLES` sets the number of cycles (default 200; `make soak` runs 1000).
/// Runs `archiver append` in a loop on a dedicated thread until stopped.
final class Appender: @unchecked Sendable {
    let dir: String
    private let lock = NSLock()
    private var stopping = false
    private var batches = 0
    private let done = DispatchSemaphore(value: 0)

    init(dir: String) { self.dir = dir }

    func start() {
        Thread.detachNewThread { [self] in
            var batch = 1
            while true {
                lock.lock()
                let stop = stopping
                lock.unlock()
                if stop { break }
                batch += 1
                _ = try? CLI.runBlocking(
                    ["append"], in: dir, input: bankEvents(events: 25, accounts: 30, seed: UInt64(batch)))
                lock.lock()
                batches += 1
                lock.unlock()
            }
            done.signal()
        }
    }

    /// Stops the loop after the append in flight; returns how many appends ran.
    func stop() -> Int {
        lock.lock()
        stopping = true
        lock.unlock()
        done.wait()
        return batches
    }
}

@Suite struct CrashTests {
    static let points = [
        "after-intent", "after-segment", "before-manifest", "after-canonical-manifest", "after-manifest", "mid-segment",
    ]

    @Test func killedFlushesLoseAndDuplicateNothing() async throws {
        let cycles = Int(ProcessInfo.processInfo.environment["ARCHIVER_CRASH_CYCLES"] ?? "") ?? 200
        try await withTemporaryDirectory { dir in
            try await CLI.ok(["init"], in: dir)
            // Small snapshots so one flush has several steps to crash between.
            let flushArgs = ["flush", "--target-size", "8KiB", "--quiet"]
            try await CLI.ok(["append"], in: dir, input: bankEvents(events: 200, accounts: 30, seed: 1))
            // Appends continue in other processes, from a thread of their own (not the test's task pool).
            let appender = Appender(dir: dir)
            appender.start()
            var killed = 0
            var seed: UInt64 = 0x9E37_79B9_7F4A_7C15
            for cycle in 0..<cycles {
                seed = seed &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
                let point = Self.points[Int((seed >> 33) % UInt64(Self.points.count))]
                let skip = Int((seed >> 20) % 3)
                let result = try await CLI.run(
                    flushArgs, in: dir,
                    environment: ["ARCHIVER_CRASH_POINT": point, "ARCHIVER_CRASH_SKIP": String(skip)])
                if result.signaled {
                    #expect(result.status == SIGKILL)
                    killed += 1
                } else {
                    #expect(result.status == 0, "cycle \(cycle) (\(point)): \(result.stderr)")
                }
            }
            let batches = appender.stop()
            #expect(batches > 1, "appends should have continued during the crashes")
            #expect(killed > cycles / 3, "only \(killed) of \(cycles) flushes were actually killed")
            try await CLI.ok(flushArgs, in: dir)
            try await expectArchiveEqualsHotStore(in: dir)
            // verify prints its problems on stderr: keep them in the failure message.
            let verify = try await CLI.run(["verify"], in: dir)
            let verified = verify.stdout
            #expect(verify.status == 0 && verified.hasPrefix("verify OK"), "\(verified)\(verify.stderr)")
            #expect(!verified.contains("orphan"), "a completed archive has no orphans: \(verified)")
        }
    }

    /// A flusher killed after the canonical manifest but before its hive partition copies leaves the intent
    /// pending; the next flush finds the snapshot committed, writes the missing copies and moves on, so `verify`
    /// and `prune` need no repair.
    @Test func flushKilledBeforeThePartitionCopiesWritesThemOnRetry() async throws {
        try await withTemporaryDirectory { dir in
            try await CLI.ok(["init"], in: dir)
            try await CLI.ok(["append"], in: dir, input: bankEvents(events: 300, accounts: 20, seed: 5))
            let killed = try await CLI.run(
                ["flush", "--target-size", "4KiB", "--quiet"], in: dir,
                environment: ["ARCHIVER_CRASH_POINT": "after-canonical-manifest", "ARCHIVER_CRASH_SKIP": "1"])
            #expect(killed.signaled && killed.status == SIGKILL)
            let broken = try await CLI.run(["verify"], in: dir)
            #expect(broken.status != 0 && broken.stderr.contains("partition copy"), "\(broken.stdout)\(broken.stderr)")

            try await CLI.ok(["flush", "--target-size", "4KiB", "--quiet"], in: dir)
            try await expectArchiveEqualsHotStore(in: dir)
            let verify = try await CLI.run(["verify"], in: dir)
            #expect(verify.status == 0 && verify.stdout.hasPrefix("verify OK"), "\(verify.stdout)\(verify.stderr)")
            #expect(!verify.stdout.contains("repaired"), "\(verify.stdout)")
            let prune = try await CLI.run(["prune", "--before", "latest", "--without-drill"], in: dir)
            #expect(prune.status == 0, "\(prune.stderr)")
        }
    }

    @Test func twoFlushersStartedTogetherProduceOneArchive() async throws {
        try await withTemporaryDirectory { dir in
            try await CLI.ok(["init"], in: dir)
            try await CLI.ok(["append"], in: dir, input: bankEvents(events: 2_000, accounts: 50, seed: 9))
            let results = try await withThrowingTaskGroup(of: CLI.Result.self) { group in
                for _ in 0..<2 {
                    group.addTask { try await CLI.run(["flush", "--target-size", "16KiB"], in: dir) }
                }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            // One flushes; the other finds the lease held (exit 3) or nothing left to flush.
            #expect(results.contains { $0.status == 0 && $0.stdout.contains("flushed") })
            for r in results { #expect(r.status == 0 || r.status == 3, "\(r.stderr)") }
            try await CLI.ok(["flush"], in: dir)
            try await expectArchiveEqualsHotStore(in: dir)
            #expect(try await CLI.ok(["verify"], in: dir).hasPrefix("verify OK"))
        }
    }
}
