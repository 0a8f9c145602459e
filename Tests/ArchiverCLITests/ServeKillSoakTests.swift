import Foundation
import Testing

/// Where the soak's clients send requests: the running server's address, nil while it is down, and the tallies.
actor SoakTarget {
    private(set) var baseURL: String?
    private(set) var stopping = false
    private(set) var sent = 0
    private(set) var acknowledged: [String] = []

    func serve(at url: String?) { baseURL = url }
    func stop() { stopping = true }
    func countSent() { sent += 1 }
    func acknowledge(_ key: String) { acknowledged.append(key) }
}

/// Kill -9 soak of `archiver serve` under HTTP load: concurrent clients append (each request with its own
/// idempotency key, retried with the same key after a connection error) while the server is killed with SIGKILL
/// at random moments and restarted. At the end every acknowledged append must be in the store and in the archive
/// exactly once.
///
/// `ARCHIVER_SERVE_KILL_CYCLES` sets the number of kills (default 20; `make soak` runs 1000).
@Suite struct ServeKillSoakTests {
    static let clients = 4

    @Test func killedServerLosesAndDuplicatesNoAcknowledgedAppend() async throws {
        let cycles = Int(ProcessInfo.processInfo.environment["ARCHIVER_SERVE_KILL_CYCLES"] ?? "") ?? 20
        try await withTemporaryDirectory { dir in
            try await CLI.ok(["init"], in: dir)
            let target = SoakTarget()
            let clients = (0..<Self.clients).map { client in
                Task { try await Self.appendUntilStopped(client: client, target: target) }
            }
            for _ in 0..<cycles {
                let server = try await ServeProcess(["--flush-interval", "0.2", "--lease-ttl", "2"], in: dir)
                await target.serve(at: server.baseURL)
                try await Task.sleep(for: .milliseconds(Int64.random(in: 50...600)))
                server.signal(SIGKILL)
                await target.serve(at: nil)
                let exit = try await server.waitForExit()
                #expect(exit?.signaled == true, "the server was not killed: \(server.stderr)")
                server.cleanUp()
            }
            // A last server takes the retries still pending, then the clients stop.
            let last = try await ServeProcess(["--flush-interval", "0.2"], in: dir)
            defer { last.cleanUp() }
            await target.serve(at: last.baseURL)
            try await Task.sleep(for: .milliseconds(300))
            await target.stop()
            for client in clients { try await client.value }
            last.signal(SIGTERM)
            _ = try await last.waitForExit()
            try await CLI.ok(["flush", "--quiet"], in: dir)

            let acknowledged = await target.acknowledged
            let store = try Self.keyCounts(try await CLI.ok(["read", "--all", "--limit", "10000000"], in: dir))
            let archive = try Self.keyCounts(
                try await CLI.ok(["lode", "cat", "archive", "--dataset", "events"], in: dir))
            let lost = acknowledged.filter { store[$0] == nil || archive[$0] == nil }
            let duplicated = Set(store.filter { $0.value > 1 }.keys).union(archive.filter { $0.value > 1 }.keys)
            print(
                "ServeKillSoak: \(await target.sent) requests sent, \(acknowledged.count) acknowledged, \(cycles) kills, "
                    + "\(lost.count) lost, \(duplicated.count) duplicated")
            #expect(acknowledged.count > cycles, "too few appends were acknowledged to test anything")
            #expect(lost.isEmpty, "acknowledged but missing: \(lost.prefix(5))")
            #expect(duplicated.isEmpty, "duplicated: \(duplicated.prefix(5))")
            #expect(Set(store.keys) == Set(archive.keys), "the store and the archive hold different appends")
            #expect(try await CLI.ok(["drill"], in: dir).hasPrefix("drill PASSED"))
        }
    }

    /// One client: appends with a fresh key each time; a failed request is retried with the same key until it is
    /// answered, whichever server is up by then.
    static func appendUntilStopped(client: Int, target: SoakTarget) async throws {
        var n = 0
        while await !target.stopping {
            n += 1
            let key = "c\(client)-\(n)"
            let body = #"{"type":"SoakAppended","data":{"key":"\#(key)","n":\#(n)}}"#
            while true {
                guard let url = await target.baseURL else {
                    try await Task.sleep(for: .milliseconds(20))
                    continue
                }
                await target.countSent()
                let reply = try? await HTTPReply.send(
                    "POST", url + "/streams/soak-\(client)/events", body: body, headers: ["Idempotency-Key": key])
                if let reply, reply.status == 201 {
                    await target.acknowledge(key)
                    break
                }
                #expect(reply == nil || reply!.status >= 500, "unexpected reply \(reply!.status): \(reply!.body)")
                try await Task.sleep(for: .milliseconds(20))
            }
        }
    }

    /// How often each append key occurs in JSON lines of events (`data.key`).
    static func keyCounts(_ text: String) throws -> [String: Int] {
        var counts: [String: Int] = [:]
        for object in try jsonLines(text) {
            guard let data = object["data"] as? [String: Any], let key = data["key"] as? String else { continue }
            counts[key, default: 0] += 1
        }
        return counts
    }
}
