import Foundation
import Testing

/// `archiver serve` as a real process: scheduled flush, graceful shutdown, two replicas and the flush lease.
@Suite struct ServeTests {
    static let postgresURL = TestServices.postgresURL

    /// The backends the parameterized tests run on: PostgreSQL only with a server (its absence shows as the
    /// skipped PostgresEndToEndTests suite, and CI fails on skips).
    static var backends: [String] { postgresURL == nil ? ["sqlite"] : ["sqlite", "postgres"] }

    /// For PostgreSQL, a fresh schema written to the directory's archiver.yaml (so every later command there
    /// uses it too); SQLite needs nothing.
    static func configureStore(_ backend: String, in dir: String) throws {
        guard backend == "postgres" else { return }
        let url = try #require(postgresURL)
        let schema = "serve_" + UUID().uuidString.prefix(8).lowercased()
        try "store: \"\(url)\"\nschema: \(schema)\n".write(
            toFile: dir + "/archiver.yaml", atomically: true, encoding: .utf8)
    }

    static func events(_ count: Int, from first: Int) -> String {
        "[" + (first..<(first + count)).map { #"{"type":"Deposited","data":{"amount":\#($0)}}"# }.joined(separator: ",")
            + "]"
    }

    @Test(arguments: ServeTests.backends)
    func scheduledFlushArchivesAppendsThenShutsDownCleanly(backend: String) async throws {
        try await withTemporaryDirectory { dir in
            try Self.configureStore(backend, in: dir)
            let server = try await ServeProcess(["--flush-interval", "0.5", "--lease-ttl", "5"], in: dir)
            defer { server.cleanUp() }
            #expect(server.baseURL.hasPrefix("http://127.0.0.1:"))
            var version = 0
            for batch in 0..<10 {
                let reply = try await server.request(
                    "POST", "/streams/account-\(batch % 3)/events", body: Self.events(5, from: batch * 5),
                    headers: ["Idempotency-Key": "batch-\(batch)"])
                #expect(reply.status == 201, "\(reply.body)")
                if batch % 3 == 0 { version = reply.object["last_version"] as? Int ?? 0 }
            }
            let conflict = try await server.request(
                "POST", "/streams/account-0/events", body: Self.events(1, from: 0),
                headers: ["Expected-Version": String(version - 1)])
            #expect(conflict.status == 409 && conflict.object["actual_version"] as? Int == version)
            // The schedule, not a request, archives the events.
            #expect(
                try await server.waitUntilReady { $0["unflushed_events"] as? Int == 0 && $0["ready"] as? Bool == true })
            let metrics = try await server.request("GET", "/metrics")
            #expect(metrics.body.contains("archiver_flushed_events_total 50\n"), "\(metrics.body)")
            let cuts = try await server.request("GET", "/cuts?all=true")
            #expect((cuts.object["cuts"] as? [[String: Any]])?.last?["last_position"] as? Int != nil)

            server.signal(SIGTERM)
            let exit = try await server.waitForExit()
            #expect(exit?.status == 0 && exit?.signaled == false, "\(server.stderr)")
            try await expectArchiveEqualsHotStore(in: dir)
            #expect(try await CLI.ok(["verify"], in: dir).contains("50 events"))
            #expect(!server.stderr.contains("Deposited"), "payloads must not reach the log")
        }
    }

    /// SIGTERM while 16 clients append: every append answered 201 is in the store and, after a flush, in the
    /// archive; the process exits 0; the archive verifies.
    @Test func sigtermCompletesInFlightAppends() async throws {
        try await withTemporaryDirectory { dir in
            let server = try await ServeProcess(
                ["--flush-interval", "0.3", "--lease-ttl", "5", "--shutdown-deadline", "20"], in: dir)
            defer { server.cleanUp() }
            let accepted = AcceptedIDs()
            // A subscriber long-polling far ahead: shutdown must answer it (empty) rather than drop it or wait
            // out its 60 s, which would overrun the deadline.
            let longPoll = Task { try await server.request("GET", "/events?after=999999999&wait=60") }
            try await withThrowingTaskGroup(of: Void.self) { group in
                for client in 0..<16 {
                    group.addTask {
                        for i in 0..<400 {
                            guard
                                let reply = try? await server.request(
                                    "POST", "/streams/client-\(client)/events", body: Self.events(2, from: i))
                            else { return }  // the server stopped accepting
                            if reply.status == 201 { accepted.add(reply.object["ids"] as? [String] ?? []) }
                        }
                    }
                }
                group.addTask {
                    while accepted.count < 200 { try await Task.sleep(for: .milliseconds(20)) }
                    server.signal(SIGTERM)
                }
                try await group.waitForAll()
            }
            let exit = try await server.waitForExit()
            #expect(exit?.status == 0 && exit?.signaled == false, "\(server.stderr)")
            let polled = try await longPoll.value
            #expect(polled.status == 200 && (polled.object["events"] as? [Any])?.isEmpty == true)
            let hot = try await hotEvents(in: dir)
            let hotIDs = Set(hot.compactMap { $0["id"] as? String })
            let ids = accepted.all
            #expect(ids.count >= 200)
            #expect(ids.allSatisfy(hotIDs.contains), "an accepted append is missing from the store")
            try await CLI.ok(["flush", "--quiet"], in: dir)
            try await expectArchiveEqualsHotStore(in: dir)
            #expect(try await CLI.ok(["verify"], in: dir).hasPrefix("verify OK"))
        }
    }

    /// Two replicas on one store: only the lease holder flushes; after it is killed with SIGKILL the other
    /// takes over once the lease expires, and the archive ends up with every event exactly once.
    @Test(arguments: ServeTests.backends)
    func standbyTakesOverFlushingAfterTheHolderIsKilled(backend: String) async throws {
        try await withTemporaryDirectory { dir in
            try Self.configureStore(backend, in: dir)
            // A lease long enough that a busy machine cannot delay replica-a's renewals past it; the takeover
            // after the kill comes at once (a dead holder on this host) or when the lease runs out.
            let common = ["--flush-interval", "0.3", "--lease-ttl", "10"]
            let a = try await ServeProcess(common + ["--holder", "replica-a"], in: dir)
            defer { a.cleanUp() }
            #expect(try await a.waitUntilReady { $0["flush_lease_held"] as? Bool == true })
            let b = try await ServeProcess(common + ["--holder", "replica-b"], in: dir)
            defer { b.cleanUp() }

            for i in 0..<20 {
                let server = i % 2 == 0 ? a : b
                let reply = try await server.request(
                    "POST", "/streams/s-\(i % 4)/events", body: Self.events(5, from: i))
                #expect(reply.status == 201)
            }
            #expect(try await b.waitUntilReady { $0["unflushed_events"] as? Int == 0 })
            let standby = try await b.request("GET", "/ready").object
            #expect(standby["flush_lease_held"] as? Bool == false, "replica-b flushed while replica-a held the lease")
            #expect(try await b.request("POST", "/flush").status == 409)

            a.signal(SIGKILL)
            _ = try await a.waitForExit()
            for i in 20..<40 {
                let reply = try await b.request("POST", "/streams/s-\(i % 4)/events", body: Self.events(5, from: i))
                #expect(reply.status == 201)
            }
            #expect(
                try await b.waitUntilReady {
                    $0["flush_lease_held"] as? Bool == true && $0["unflushed_events"] as? Int == 0
                },
                "replica-b did not take over: \(b.stderr)")
            b.signal(SIGTERM)
            let exit = try await b.waitForExit()
            #expect(exit?.status == 0, "\(b.stderr)")
            let hot = try await hotEvents(in: dir)
            #expect(hot.count == 200)
            try await expectArchiveEqualsHotStore(in: dir)
            #expect(try await CLI.ok(["verify"], in: dir).contains("200 events"))
        }
    }

    @Test func tokensFromTheConfigFileGuardTheAPI() async throws {
        try await withTemporaryDirectory { dir in
            let generated = try await CLI.ok(["tokens", "generate", "--name", "app", "--scope", "append"], in: dir)
            let lines = generated.split(separator: "\n")
            let token = String(lines.first { $0.hasPrefix("token: ") }!.dropFirst("token: ".count))
            let entry = String(lines.first { $0.hasPrefix("entry: ") }!.dropFirst("entry: ".count))
            #expect(entry.hasPrefix("app:append:") && !entry.contains(token))
            try "tokens:\n  - \(entry)\nflush-interval: 0\n".write(
                toFile: dir + "/archiver.yaml", atomically: true, encoding: .utf8)
            let server = try await ServeProcess([], in: dir)
            defer { server.cleanUp() }
            let body = #"{"type":"A","data":1}"#
            #expect(try await server.request("POST", "/streams/s/events", body: body).status == 401)
            let ok = try await server.request(
                "POST", "/streams/s/events", body: body, headers: ["Authorization": "Bearer \(token)"])
            #expect(ok.status == 201)
            let read = try await server.request("GET", "/events", headers: ["Authorization": "Bearer \(token)"])
            #expect(read.status == 403)
            server.signal(SIGINT)
            #expect(try await server.waitForExit()?.status == 0)
            #expect(!server.stderr.contains(token), "the token must not reach the log")
        }
    }
}

/// Event ids of appends answered 201, collected from concurrent clients.
final class AcceptedIDs: @unchecked Sendable {
    private let lock = NSLock()
    private var ids: [String] = []
    func add(_ new: [String]) {
        lock.lock()
        ids.append(contentsOf: new)
        lock.unlock()
    }
    var count: Int {
        lock.lock()
        defer { lock.unlock() }
        return ids.count
    }
    var all: [String] {
        lock.lock()
        defer { lock.unlock() }
        return ids
    }
}
