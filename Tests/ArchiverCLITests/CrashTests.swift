import Foundation
import Testing

/// Kill -9 harness: flushes are killed with SIGKILL at every step of the commit protocol while appends
/// continue in other processes; afterwards one clean flush must leave an archive equal to the hot store.
///
/// `ARCHIVER_CRASH_CYCLES` sets the number of cycles (default 200; `make soak` runs 1000).
@Suite struct CrashTests {
    static let points = ["after-intent", "after-segment", "before-manifest", "after-manifest", "mid-segment"]

    @Test func killedFlushesLoseAndDuplicateNothing() async throws {
        let cycles = Int(ProcessInfo.processInfo.environment["ARCHIVER_CRASH_CYCLES"] ?? "") ?? 200
        try await withTemporaryDirectory { dir in
            try CLI.ok(["init"], in: dir)
            // Small snapshots so one flush has several steps to crash between.
            let flushArgs = ["flush", "--target-size", "8KiB", "--quiet"]
            let appender = Task.detached {
                var batch = 0
                while !Task.isCancelled {
                    batch += 1
                    _ = try? CLI.run(
                        ["append"], in: dir, input: bankEvents(events: 25, accounts: 30, seed: UInt64(batch)))
                }
                return batch
            }
            var killed = 0
            var seed: UInt64 = 0x9E37_79B9_7F4A_7C15
            for cycle in 0..<cycles {
                seed = seed &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
                let point = Self.points[Int((seed >> 33) % UInt64(Self.points.count))]
                let skip = Int((seed >> 20) % 3)
                let result = try CLI.run(
                    flushArgs, in: dir,
                    environment: ["ARCHIVER_CRASH_POINT": point, "ARCHIVER_CRASH_SKIP": String(skip)])
                if result.signaled {
                    #expect(result.status == SIGKILL)
                    killed += 1
                } else {
                    #expect(result.status == 0, "cycle \(cycle) (\(point)): \(result.stderr)")
                }
            }
            appender.cancel()
            let batches = await appender.value
            #expect(batches > 1, "appends should have continued during the crashes")
            #expect(killed > cycles / 3, "only \(killed) of \(cycles) flushes were actually killed")
            try CLI.ok(flushArgs, in: dir)
            try expectArchiveEqualsHotStore(in: dir)
            let verified = try CLI.ok(["verify"], in: dir)
            #expect(verified.hasPrefix("verify OK"), "\(verified)")
            #expect(!verified.contains("orphan"), "a completed archive has no orphans: \(verified)")
        }
    }

    @Test func twoFlushersStartedTogetherProduceOneArchive() async throws {
        try await withTemporaryDirectory { dir in
            try CLI.ok(["init"], in: dir)
            try CLI.ok(["append"], in: dir, input: bankEvents(events: 2_000, accounts: 50, seed: 9))
            let results = try await withThrowingTaskGroup(of: CLI.Result.self) { group in
                for _ in 0..<2 {
                    group.addTask { try CLI.run(["flush", "--target-size", "16KiB"], in: dir) }
                }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            // One flushes; the other finds the lease held (exit 3) or nothing left to flush.
            #expect(results.contains { $0.status == 0 && $0.stdout.contains("flushed") })
            for r in results { #expect(r.status == 0 || r.status == 3, "\(r.stderr)") }
            try CLI.ok(["flush"], in: dir)
            try expectArchiveEqualsHotStore(in: dir)
            #expect(try CLI.ok(["verify"], in: dir).hasPrefix("verify OK"))
        }
    }
}
