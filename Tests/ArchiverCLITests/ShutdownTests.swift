import Foundation
import Testing

/// `archiver serve` at SIGTERM: the last flush pass archives what was appended since the previous pass, and a
/// shutdown deadline that cuts it short shows in the log and the exit status (14).
@Suite struct ShutdownTests {
    /// The schedule's interval (60 s) never elapses: only the last pass at SIGTERM can archive these events.
    @Test func eventsAppendedJustBeforeSigtermAreInTheArchive() async throws {
        try await withTemporaryDirectory { dir in
            let server = try await ServeProcess(["--flush-interval", "60", "--lease-ttl", "120"], in: dir)
            defer { server.cleanUp() }
            for i in 1...25 {
                let reply = try await server.request(
                    "POST", "/streams/order-\(i % 3)/events", body: #"{"type":"Placed","data":{"n":\#(i)}}"#,
                    headers: ["Content-Type": "application/json"])
                try #require(reply.status == 201, "\(reply.body)")
            }
            server.signal(SIGTERM)
            let exit = try #require(try await server.waitForExit())
            #expect(exit.status == 0 && !exit.signaled, "\(server.stderr)")
            #expect(server.stderr.contains("final flush done"), "\(server.stderr)")
            let status = try await CLI.ok(["status"], in: dir)
            #expect(status.contains("flush cursor:         25 "), "\(status)")
            #expect(status.contains("unflushed events:     0"), "\(status)")
            // The archive alone (no flush after exit) replays the last event of each stream.
            let replayed = try await CLI.ok(["replay", "--to", "latest", "--stream", "order-1", "--quiet"], in: dir)
            #expect(replayed.contains(#""n":25"#), "\(replayed)")
            #expect(try await CLI.ok(["verify"], in: dir).hasPrefix("verify OK"))
        }
    }

    /// A deadline far shorter than the last pass: the process says so and exits 14; the events stay in the
    /// store and the next `archiver flush` archives every one of them.
    @Test func aDeadlineThatCutsTheLastFlushShortExits14() async throws {
        try await withTemporaryDirectory { dir in
            try await CLI.ok(["init"], in: dir)
            try await CLI.ok(["append"], in: dir, input: bankEvents(events: 30_000, accounts: 500, seed: 7))
            // Snapshots of 64 KiB: the pass has dozens to write, and a cancelled pass stops between two.
            let server = try await ServeProcess(
                [
                    "--flush-interval", "60", "--lease-ttl", "120", "--shutdown-deadline", "0.05",
                    "--target-size", "64KiB",
                ], in: dir)
            defer { server.cleanUp() }
            server.signal(SIGTERM)
            let exit = try #require(try await server.waitForExit())
            #expect(exit.status == 14 && !exit.signaled, "\(server.stderr)")
            #expect(server.stderr.contains("the final flush did not finish within shutdown-deadline"))
            try await CLI.ok(["flush", "--quiet", "--target-size", "64KiB"], in: dir)
            let status = try await CLI.ok(["status"], in: dir)
            #expect(status.contains("flush cursor:         30000 "), "\(status)")
            #expect(try await CLI.ok(["verify"], in: dir).hasPrefix("verify OK"))
        }
    }

    /// `archiver health` answers from the same configuration as `serve`: 1 when nothing listens, 0 when ready.
    @Test func healthProbesTheConfiguredPort() async throws {
        try await withTemporaryDirectory { dir in
            let server = try await ServeProcess(["--flush-interval", "60", "--lease-ttl", "120"], in: dir)
            defer { server.cleanUp() }
            let port = try #require(server.baseURL.split(separator: ":").last.map(String.init))
            let ready = try await CLI.run(["health"], in: dir, environment: ["ARCHIVER_PORT": port])
            #expect(ready.status == 0 && ready.stdout == "ready\n", "\(ready.stderr)")
            server.signal(SIGTERM)
            _ = try await server.waitForExit()
            let down = try await CLI.run(["health", "--port", port], in: dir)
            #expect(down.status == 1)
            #expect(down.stderr.contains("/ready: Connection refused"), "\(down.stderr)")
        }
    }
}
