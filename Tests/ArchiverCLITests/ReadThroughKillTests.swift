import Foundation
import Synchronization
import Testing

/// What the subscriber thread reads from the test: where the server listens now (nil while it is down) and the
/// position after which it may stop; and what the test reads back: how many times it has connected.
final class SubscriberControl: Sendable {
    private let state = Mutex<(port: Int?, stopAt: Int64?, connections: Int)>((nil, nil, 0))

    func serve(at baseURL: String?) {
        let port = baseURL.flatMap { $0.split(separator: ":").last.flatMap { Int($0) } }
        state.withLock { $0.port = port }
    }
    func stop(at position: Int64) { state.withLock { $0.stopAt = position } }
    var port: Int? { state.withLock { $0.port } }
    var stopAt: Int64? { state.withLock { $0.stopAt } }
    func connected() { state.withLock { $0.connections += 1 } }
    var connections: Int { state.withLock { $0.connections } }
}

/// Kill -9 of `archiver serve` under a subscription from position 0 (issue 21): HTTP clients append, the server
/// flushes every 0.3 s, `archiver prune` runs in a loop beside it, and an SSE subscriber reads `GET /events` from
/// 0. The server is killed with SIGKILL several times and restarted on the same store and archive; the subscriber
/// reconnects with `Last-Event-ID` set to the last id it got. In the end it has every event exactly once, in
/// order, byte for byte as `archiver read --all` prints them (which reads the pruned part from the archive).
///
/// `ARCHIVER_READ_KILL_CYCLES` sets the number of kills (default 4). Every wait is bounded.
@Suite struct ReadThroughKillTests {
    @Test func subscriberResumesWithLastEventIDAcrossKilledServers() async throws {
        let cycles = Int(ProcessInfo.processInfo.environment["ARCHIVER_READ_KILL_CYCLES"] ?? "") ?? 4
        try await withTemporaryDirectory { dir in
            try await CLI.ok(["init"], in: dir)
            let target = SoakTarget()
            let control = SubscriberControl()
            var server = try await Self.startServer(in: dir, target: target, control: control)
            let writers = (0..<2).map { client in
                Task { try await ServeKillSoakTests.appendUntilStopped(client: client, target: target) }
            }
            let pruner = Task { try await Self.pruneUntilStopped(in: dir, target: target) }
            // Subscribe once something is pruned, so the first events come from the archive.
            let deadline = ContinuousClock.now + .seconds(90)
            var prunedAtStart: Int64 = 0
            while prunedAtStart == 0 && ContinuousClock.now < deadline {
                try await Task.sleep(for: .milliseconds(100))
                prunedAtStart = try await Self.prunedThrough(dir)
            }
            #expect(prunedAtStart > 0, "nothing was pruned before the subscription started")
            let subscription = Self.subscribe(control: control, deadline: deadline + .seconds(90))
            let last: ServeProcess
            do {
                for cycle in 0..<cycles {
                    if cycle > 0 { server = try await Self.startServer(in: dir, target: target, control: control) }
                    try await Task.sleep(for: .milliseconds(Int64.random(in: 400...1_200)))
                    // On a loaded machine the sleep may pass before the writers get through; each life of the
                    // server acknowledges at least `appendsPerLife` appends first (bounded), so the run always
                    // has events on both sides of every kill.
                    try await Self.waitForAppends(target, count: (cycle + 1) * Self.appendsPerLife)
                    // Likewise the subscriber connects to each life before its kill (bounded), so every kill
                    // interrupts a subscription.
                    let connected = ContinuousClock.now + .seconds(60)
                    while control.connections <= cycle && ContinuousClock.now < connected {
                        try await Task.sleep(for: .milliseconds(20))
                    }
                    server.signal(SIGKILL)
                    await target.serve(at: nil)
                    control.serve(at: nil)
                    let exit = try await server.waitForExit(timeoutSeconds: 30)
                    #expect(exit?.signaled == true, "the server was not killed: \(server.stderr)")
                    server.cleanUp()
                }
                last = try await Self.startServer(in: dir, target: target, control: control)
            } catch {
                // Stop the clients, the pruner and the subscriber too, so a failure leaves nothing running.
                server.cleanUp()
                await target.stop()
                control.stop(at: 0)
                throw error
            }
            defer { last.cleanUp() }
            try await Task.sleep(for: .milliseconds(500))
            await target.stop()
            for writer in writers { try await writer.value }
            let prunes = try await pruner.value
            let expected = try await CLI.ok(["read", "--all", "--limit", "10000000"], in: dir)
            let expectedLines = expected.split(separator: "\n").map(String.init)
            let positions = try jsonLines(expected).compactMap { ($0["position"] as? NSNumber)?.int64Value }
            control.stop(at: positions.last ?? 0)
            let (events, connections) = await subscription.value
            last.signal(SIGTERM)
            _ = try await last.waitForExit(timeoutSeconds: 30)

            print(
                "ReadThroughKill: \(await target.acknowledged.count) appends, \(cycles) kills, \(prunes) prunes, "
                    + "\(connections) connections, \(events.count) events delivered, pruned through "
                    + "\(prunedAtStart) at the start and \(try await Self.prunedThrough(dir)) at the end")
            #expect(positions.count == expectedLines.count && positions.count > cycles * 10, "\(positions.count)")
            #expect(prunes > 0, "no prune succeeded while serving")
            #expect(connections > cycles, "the subscriber did not reconnect after each kill: \(connections)")
            #expect(events.map(\.id) == positions, "delivered \(events.count) of \(positions.count) positions")
            #expect(events.map(\.data) == expectedLines, "a delivered event differs from `archiver read --all`")
            let keys = try ServeKillSoakTests.keyCounts(events.map(\.data).joined(separator: "\n"))
            let acknowledged = await target.acknowledged
            #expect(Set(keys.keys) == Set(acknowledged) && keys.values.allSatisfy { $0 == 1 })
        }
    }

    static let appendsPerLife = 12

    /// Waits (up to 60 s) until the writers have `count` acknowledged appends in all.
    static func waitForAppends(_ target: SoakTarget, count: Int) async throws {
        let deadline = ContinuousClock.now + .seconds(60)
        while await target.acknowledged.count < count && ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(50))
        }
    }

    /// Starts a server on the store and archive in `dir` and points the writers and the subscriber at it.
    static func startServer(in dir: String, target: SoakTarget, control: SubscriberControl) async throws -> ServeProcess
    {
        let server = try await ServeProcess(["--flush-interval", "0.3", "--lease-ttl", "2"], in: dir)
        await target.serve(at: server.baseURL)
        control.serve(at: server.baseURL)
        return server
    }

    /// `archiver prune --before latest` in a loop beside the server until the writers stop; returns how many
    /// prunes succeeded. A refusal (the cursor not yet moved past a fresh snapshot, an unrepaired partition copy
    /// left by a kill) is expected and skipped; a prune that runs past 60 s is a failure.
    static func pruneUntilStopped(in dir: String, target: SoakTarget) async throws -> Int {
        var prunes = 0
        while await !target.stopping {
            let result = try await CLI.runBounded(
                ["prune", "--before", "latest", "--without-drill"], in: dir, seconds: 60)
            if result?.status == 0 { prunes += 1 }
            #expect(result != nil, "archiver prune did not finish within 60 s")
            try await Task.sleep(for: .milliseconds(150))
        }
        return prunes
    }

    /// The store's pruned-through position, from `archiver status`.
    static func prunedThrough(_ dir: String) async throws -> Int64 {
        let status = try await CLI.runBounded(["status"], in: dir, seconds: 30)
        let line = status?.stdout.split(separator: "\n").first { $0.hasPrefix("pruned through:") }
        return line.flatMap { Int64($0.dropFirst("pruned through:".count).trimmingCharacters(in: .whitespaces)) } ?? 0
    }

    /// The subscriber, on a thread of its own (its reads block for up to 250 ms): from position 0, then after
    /// each dropped connection again with `Last-Event-ID`, until it has the position `control` stops at or the
    /// deadline passes. Returns the events in the order received and the number of connections made.
    static func subscribe(
        control: SubscriberControl, deadline: ContinuousClock.Instant
    ) -> Task<([ReadThroughEventStream.Event], Int), Never> {
        Task {
            await withCheckedContinuation { continuation in
                Thread.detachNewThread {
                    var events: [ReadThroughEventStream.Event] = []
                    var connections = 0
                    func done() -> Bool { control.stopAt.map { (events.last?.id ?? 0) >= $0 } ?? false }
                    while !done() && ContinuousClock.now < deadline {
                        guard let port = control.port,
                            let stream = try? ReadThroughEventStream(
                                port: port, path: events.isEmpty ? "/events?after=0" : "/events",
                                lastEventID: events.last?.id)
                        else {
                            usleep(20_000)
                            continue
                        }
                        connections += 1
                        control.connected()
                        while !stream.closed && !done() && ContinuousClock.now < deadline {
                            let batch = stream.next()
                            events += batch
                            // A slow consumer, so that prune overtakes it between reconnections.
                            if !batch.isEmpty { usleep(20_000) }
                        }
                    }
                    continuation.resume(returning: (events, connections))
                }
            }
        }
    }
}

extension CLI {
    /// Runs `archiver args…` like ``run(_:in:input:environment:)`` but kills it after `seconds`; nil then.
    static func runBounded(_ args: [String], in directory: String, seconds: Double) async throws -> Result? {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: binary)
        process.arguments = args
        process.currentDirectoryURL = URL(fileURLWithPath: directory)
        var environment = ProcessInfo.processInfo.environment
        environment.removeValue(forKey: "ARCHIVER_STORE")
        environment.removeValue(forKey: "ARCHIVER_ARCHIVE")
        process.environment = environment
        let outFile = directory + "/.out-\(UUID().uuidString)"
        _ = FileManager.default.createFile(atPath: outFile, contents: nil)
        defer { try? FileManager.default.removeItem(atPath: outFile) }
        process.standardOutput = try FileHandle(forWritingTo: URL(fileURLWithPath: outFile))
        process.standardError = FileHandle.nullDevice
        process.standardInput = FileHandle.nullDevice
        try process.run()
        let deadline = ContinuousClock.now + .milliseconds(Int64(seconds * 1_000))
        while process.isRunning && ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(20)) }
        guard !process.isRunning else {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
            return nil
        }
        process.waitUntilExit()
        return Result(
            status: process.terminationStatus, signaled: process.terminationReason == .uncaughtSignal,
            stdout: (try? String(contentsOfFile: outFile, encoding: .utf8)) ?? "", stderr: "")
    }
}
