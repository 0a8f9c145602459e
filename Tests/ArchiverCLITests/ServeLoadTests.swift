import Foundation
import Testing

/// 32 concurrent HTTP clients against a real `archiver serve` for a bounded time while the flusher runs
/// every two seconds. Each client appends to its own stream with exact expected versions (never a conflict)
/// and now and then to a shared stream with a possibly stale version (conflicts intended). No other error is
/// allowed; after a final flush the archive equals the hot store. Prints requests/s and p50/p99 latency.
@Suite struct ServeLoadTests {
    static let clients = 32
    static let seconds = 5.0
    static let maxRequestsPerClient = 3_000

    @Test func thirtyTwoClientsWhileTheFlusherRuns() async throws {
        try await withTemporaryDirectory { dir in
            // synchronous=normal: the test measures the HTTP path, not how the disk copes with fsyncs from the
            // other tests running beside it (bench-serve measures with full sync).
            let server = try await ServeProcess(
                ["--flush-interval", "2", "--lease-ttl", "10", "--sqlite-synchronous", "normal"], in: dir)
            defer { server.cleanUp() }
            let started = ContinuousClock.now
            let deadline = started + .milliseconds(Int64(Self.seconds * 1_000))
            let results = try await withThrowingTaskGroup(of: ClientResult.self) { group in
                for client in 0..<Self.clients {
                    group.addTask { try await Self.run(client: client, server: server, until: deadline) }
                }
                return try await group.reduce(into: [ClientResult]()) { $0.append($1) }
            }
            let elapsed =
                Double((ContinuousClock.now - started).components.seconds)
                + Double((ContinuousClock.now - started).components.attoseconds) / 1e18
            let latencies = results.flatMap(\.latencies).sorted()
            let errors = results.flatMap(\.errors)
            let conflicts = results.map(\.conflicts).reduce(0, +)
            let appended = results.map(\.appendedEvents).reduce(0, +)
            #expect(errors.isEmpty, "unexpected answers: \(errors.prefix(5))")
            #expect(!latencies.isEmpty, "no request completed")
            func percentile(_ p: Double) -> Double {
                latencies.isEmpty ? 0 : latencies[min(latencies.count - 1, Int(Double(latencies.count) * p))] * 1_000
            }
            print(
                "serve load: \(latencies.count) appends from \(Self.clients) clients in "
                    + String(
                        format: "%.1f s = %.0f requests/s, p50 %.2f ms, p99 %.2f ms", elapsed,
                        Double(latencies.count) / elapsed, percentile(0.5), percentile(0.99))
                    + "; \(conflicts) intended conflicts")

            let flushed = try await server.request("POST", "/flush")
            #expect(flushed.status == 200, "\(flushed.body)")
            server.signal(SIGTERM)
            #expect(try await server.waitForExit()?.status == 0, "\(server.stderr)")
            let hot = try await hotEvents(in: dir)
            #expect(hot.count == appended)
            try await expectArchiveEqualsHotStore(in: dir)
            #expect(try await CLI.ok(["verify"], in: dir).hasPrefix("verify OK"))
        }
    }

    struct ClientResult: Sendable {
        var latencies: [Double] = []
        var errors: [String] = []
        var conflicts = 0
        var appendedEvents = 0
    }

    static func run(
        client: Int, server: ServeProcess, until deadline: ContinuousClock.Instant
    ) async throws
        -> ClientResult
    {
        var result = ClientResult()
        var version = 0
        var sharedVersion = 0
        // At least two requests per client, however slow a loaded machine is, then until the deadline.
        for i in 0..<maxRequestsPerClient where i < 2 || ContinuousClock.now < deadline {
            let shared = i % 10 == 9
            let stream = shared ? "shared" : "client-\(client)"
            let expected =
                shared ? (sharedVersion == 0 ? "any" : String(sharedVersion)) : String(version == 0 ? 0 : version)
            let body = #"[{"type":"Deposited","data":{"client":\#(client),"i":\#(i)}},{"type":"Noted","data":\#(i)}]"#
            let started = ContinuousClock.now
            let reply = try await server.request(
                "POST", "/streams/\(stream)/events", body: body, headers: ["Expected-Version": expected])
            let d = ContinuousClock.now - started
            result.latencies.append(Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18)
            switch reply.status {
            case 201:
                result.appendedEvents += 2
                let last = reply.object["last_version"] as? Int ?? 0
                if shared { sharedVersion = last } else { version = last }
            case 409 where shared:
                result.conflicts += 1
                sharedVersion = reply.object["actual_version"] as? Int ?? 0
            default:
                result.errors.append("\(stream) expected \(expected): \(reply.status) \(reply.body)")
            }
        }
        return result
    }
}
