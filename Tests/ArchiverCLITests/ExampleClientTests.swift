import Foundation
import Testing

/// examples/python-client/bank_client.py (standard library only) against a real `archiver serve`.
@Suite struct ExampleClientTests {
    @Test func pythonBankClientHandlesConflictsRetriesAndSubscribes() async throws {
        try await withTemporaryDirectory { dir in
            let generated = try await CLI.ok(
                ["tokens", "generate", "--name", "bank", "--scope", "append", "--scope", "read"], in: dir)
            let lines = generated.split(separator: "\n")
            let token = String(lines.first { $0.hasPrefix("token: ") }!.dropFirst(7))
            let entry = String(lines.first { $0.hasPrefix("entry: ") }!.dropFirst(7))
            let server = try await ServeProcess(
                ["--token", entry, "--flush-interval", "0.5", "--lease-ttl", "5"], in: dir)
            defer { server.cleanUp() }
            let script = DeployFilesTests.root + "/examples/python-client/bank_client.py"
            let (status, out, err) = try await shell(
                "python3 '\(script)' --url \(server.baseURL) --token \(token) --accounts 3 --workers 4 "
                    + "--operations 8", in: dir)
            #expect(status == 0, "bank_client.py failed: \(err)")
            let summary = try #require(
                try JSONSerialization.jsonObject(
                    with: Data(out.split(separator: "\n").last.map(String.init)?.utf8 ?? "".utf8))
                    as? [String: Any])
            #expect(summary["idempotent_replay"] as? Bool == true)
            // 3 opens, 1 bonus, every deposit, and the withdrawals the balance allowed (the order of the workers
            // decides how many).
            let deposits = (0..<4).flatMap { n in (0..<8).filter { ($0 + n) % 3 != 2 } }.count * 3
            let events = try #require(summary["events"] as? Int)
            #expect(events >= 3 + 1 + deposits && events <= 3 + 1 + 4 * 8 * 3)
            let streams = summary["streams"] as? [String] ?? []
            #expect(streams.count == 3)

            // The store agrees with what the client saw; the schedule archives it all.
            #expect(try await server.waitUntilReady { $0["unflushed_events"] as? Int == 0 })
            server.signal(SIGTERM)
            #expect(try await server.waitForExit()?.status == 0)
            let hot = try await hotEvents(in: dir)
            #expect(hot.count == events)
            let balances = summary["balances"] as? [Int] ?? []
            for (stream, balance) in zip(streams, balances) {
                let amounts = hot.filter { $0["stream"] as? String == stream }
                    .compactMap { ($0["data"] as? [String: Any])?["amount"] as? Int }
                #expect(amounts.reduce(0, +) == balance)
            }
            try await expectArchiveEqualsHotStore(in: dir)
            #expect(!server.stderr.contains(token))
        }
    }

    /// examples/BankSidecar (Swift, URLSession) against a real `archiver serve`.
    @Test func swiftBankAppKeepsItsEventsInTheSidecar() async throws {
        let binary = URL(fileURLWithPath: CLI.binary).deletingLastPathComponent()
            .appendingPathComponent("bank-sidecar-example").path
        try #require(
            FileManager.default.isExecutableFile(atPath: binary), "build it first: swift build --build-tests")
        try await withTemporaryDirectory { dir in
            let server = try await ServeProcess(["--flush-interval", "0.5", "--lease-ttl", "5"], in: dir)
            defer { server.cleanUp() }
            let (status, out, err) = try await shell(
                "'\(binary)' --url \(server.baseURL) --tellers 4", in: dir)
            #expect(status == 0, "bank-sidecar-example failed: \(err)")
            let summary = try #require(
                try JSONSerialization.jsonObject(with: Data(out.utf8)) as? [String: Any], "\(out)")
            #expect(summary["idempotent_replay"] as? Bool == true)
            let account = try #require(summary["account"] as? String)
            #expect(try await server.waitUntilReady { $0["unflushed_events"] as? Int == 0 })
            server.signal(SIGTERM)
            #expect(try await server.waitForExit()?.status == 0)
            let events = try await hotEvents(in: dir).filter { $0["stream"] as? String == account }
            #expect(events.count == summary["version"] as? Int)
            #expect(events.first?["type"] as? String == "Opened")
            // Opened + one salary (the replay added nothing) + what the tellers applied.
            #expect(
                events.filter {
                    $0["type"] as? String == "Deposited" && ($0["data"] as? [String: Any])?["amount"] as? Int == 1_000
                }.count == 1)
            let amounts = events.compactMap { ($0["data"] as? [String: Any])?["amount"] as? Int }
            #expect(amounts.reduce(0, +) == summary["balance"] as? Int)
            try await expectArchiveEqualsHotStore(in: dir)
        }
    }
}
