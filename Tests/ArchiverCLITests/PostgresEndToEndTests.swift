import Foundation
import Testing

/// The same path on PostgreSQL: append → flush → replay → verify, and a restore from PostgreSQL into SQLite.
@Suite(.enabled(if: TestServices.postgresURL != nil, TestServices.needsPostgres))
struct PostgresEndToEndTests {
    static let url = TestServices.postgresURL

    @Test func flushFromPostgresThenRestoreIntoSQLite() async throws {
        let url = try #require(Self.url)
        let schema = "e2e_" + UUID().uuidString.prefix(8).lowercased()
        let pg = ["--store", url, "--schema", schema]
        try await withTemporaryDirectory { dir in
            try await CLI.ok(["init"] + pg, in: dir)
            try await CLI.ok(["append"] + pg, in: dir, input: bankEvents(events: 1_500, accounts: 30, seed: 21))
            let flushed = try await CLI.ok(["flush", "--cut", "pg-first"] + pg, in: dir)
            #expect(flushed.contains("flushed 1500 events"), "\(flushed)")
            #expect(try await CLI.ok(["verify"], in: dir).hasPrefix("verify OK"))

            let restored = try await CLI.ok(["restore", "--to", "pg-first", "--into", "sqlite:restored.db"], in: dir)
            #expect(restored.contains("restored 1500 events of 30 streams"), "\(restored)")
            let source = try jsonLines(try await CLI.ok(["read", "--all", "--limit", "100000"] + pg, in: dir))
            let copy = try jsonLines(
                try await CLI.ok(["read", "--all", "--limit", "100000", "--store", "sqlite:restored.db"], in: dir))
            #expect(source.count == 1_500 && copy.count == 1_500)
            for (a, b) in zip(source, copy) {
                #expect(a["position"] as? Int == b["position"] as? Int)
                #expect(a["stream"] as? String == b["stream"] as? String)
                #expect(a["version"] as? Int == b["version"] as? Int)
                #expect((a["id"] as? String)?.lowercased() == (b["id"] as? String)?.lowercased())
                #expect(a["recorded_at_ns"] as? Int == b["recorded_at_ns"] as? Int)
                #expect(
                    NSDictionary(dictionary: a["data"] as! [String: Any])
                        == NSDictionary(dictionary: b["data"] as! [String: Any]))
            }
            let sourceStreams = try await CLI.ok(["streams"] + pg, in: dir)
            let copyStreams = try await CLI.ok(["streams", "--store", "sqlite:restored.db"], in: dir)
            #expect(sourceStreams == copyStreams)
            // The restored store continues the same archive.
            try await CLI.ok(
                ["append", "--store", "sqlite:restored.db"], in: dir,
                input: bankEvents(events: 10, accounts: 3, seed: 22))
            try await CLI.ok(["flush", "--store", "sqlite:restored.db", "--quiet"], in: dir)
            #expect(try await CLI.ok(["verify"], in: dir).contains("1510 events"))
            _ = try await shell("psql '\(url)' -q -c 'DROP SCHEMA \(schema) CASCADE'", in: dir)
        }
    }

    /// JSON lines on PostgreSQL one at a time (`--batch-size 1`, the loop on the store's thread) and in
    /// mixed-stream batches (one `append_many` call each): all land, in order. A line the store would refuse
    /// is named and nothing of the input is appended, at any batch size.
    @Test func appendLinesOneByOneAndInBatchesRefuseABadLineWhole() async throws {
        let url = try #require(Self.url)
        let schema = "al_" + UUID().uuidString.prefix(8).lowercased()
        let pg = ["--store", url, "--schema", schema]
        try await withTemporaryDirectory { dir in
            try await CLI.ok(["init"] + pg, in: dir)
            let good = bankEvents(events: 40, accounts: 7, seed: 5)
            try await CLI.ok(["append", "--batch-size", "1"] + pg, in: dir, input: good)
            try await CLI.ok(["append", "--batch-size", "16"] + pg, in: dir, input: good)
            let all = try jsonLines(try await CLI.ok(["read", "--all", "--limit", "1000"] + pg, in: dir))
            let positions = all.compactMap { $0["position"] as? Int }
            #expect(positions == Array(1...80))
            var versions: [String: [Int]] = [:]
            for event in all { versions[event["stream"] as! String, default: []].append(event["version"] as! Int) }
            #expect(versions.values.allSatisfy { $0 == Array(1...$0.count) })

            let long = String(repeating: "x", count: 300)
            let lines =
                [
                    #"{"stream":"ok-1","type":"T","data":{}}"#, #"{"stream":"ok-1","type":"T","data":{}}"#,
                    #"{"stream":"\#(long)","type":"T","data":{}}"#, #"{"stream":"ok-1","type":"T","data":{}}"#,
                ].joined(separator: "\n") + "\n"
            func okEvents() async throws -> Int {
                try jsonLines(try await CLI.ok(["read", "--stream", "ok-1"] + pg, in: dir)).count
            }
            // Every line is checked before the first commit: the bad line 3 appends nothing at any batch size.
            for batchSize in ["1", "16"] {
                let result = try await CLI.run(["append", "--batch-size", batchSize] + pg, in: dir, input: lines)
                #expect(result.status == 65, "\(result.stderr)")
                #expect(result.stderr.contains("stdin line 3: "), "\(result.stderr)")
                #expect(result.stderr.contains("nothing was appended"), "\(result.stderr)")
                #expect(try await okEvents() == 0)
            }
            _ = try await shell("psql '\(url)' -q -c 'DROP SCHEMA \(schema) CASCADE'", in: dir)
        }
    }

    /// `replay --into postgres://… --table`: the read model replaced in one transaction; a failed replay
    /// leaves it unchanged.
    @Test func replayIntoAPostgresTable() async throws {
        let url = try #require(Self.url)
        let schema = "rm_" + UUID().uuidString.prefix(8).lowercased()
        try await withTemporaryDirectory { dir in
            try await CLI.ok(["init"], in: dir)
            try await CLI.ok(["append"], in: dir, input: bankEvents(events: 300, accounts: 9, seed: 13))
            try await CLI.ok(["flush", "--quiet"], in: dir)
            let into = ["--into", url, "--table", "\(schema).balances"]
            try await CLI.ok(["replay", "--to", "latest", "--projection", "sum:amount", "--quiet"] + into, in: dir)
            func table() async throws -> String {
                try await shell(
                    "psql '\(url)' -At -c \"SELECT key, row->>'count' FROM \(schema).balances ORDER BY key\"", in: dir
                ).out
            }
            let before = try await table()
            #expect(before.split(separator: "\n").count == 9)
            #expect(before.contains("account-1|"))
            // The same rows as the SQLite sink and stdout give.
            let stdout = try jsonLines(
                try await CLI.ok(["replay", "--to", "latest", "--projection", "sum:amount", "--quiet"], in: dir))
            #expect(stdout.count == 9)
            // More events, then a projector that dies halfway: the table must not change.
            try await CLI.ok(
                ["append", "--stream", "account-1", "--type", "Broken", "--data", #"{"fail":true}"#], in: dir)
            try await CLI.ok(["flush", "--quiet"], in: dir)
            let failed = try await CLI.run(
                ["replay", "--to", "latest", "--exec", "python3 \(ReplayAndPruneTests.projector)"] + into, in: dir)
            #expect(failed.status != 0)
            #expect(try await table() == before)
            let bad = try await CLI.run(
                ["replay", "--to", "latest", "--projection", "fold", "--into", url, "--table", "x;drop"], in: dir)
            #expect(bad.status != 0 && bad.stderr.contains("table name"))
            _ = try await shell("psql '\(url)' -q -c 'DROP SCHEMA \(schema) CASCADE'", in: dir)
        }
    }

    /// Restore from the archive into an empty PostgreSQL schema: the same events, positions and heads.
    @Test func restoreFromSQLiteArchiveIntoPostgres() async throws {
        let url = try #require(Self.url)
        let schema = "rs_" + UUID().uuidString.prefix(8).lowercased()
        try await withTemporaryDirectory { dir in
            try await CLI.ok(["init"], in: dir)
            try await CLI.ok(["append"], in: dir, input: bankEvents(events: 700, accounts: 12, seed: 4))
            try await CLI.ok(["flush", "--quiet"], in: dir)
            let restored = try await CLI.ok(
                ["restore", "--to", "latest", "--into", url], in: dir, environment: ["ARCHIVER_SCHEMA": schema])
            #expect(restored.contains("restored 700 events of 12 streams"), "\(restored)")
            let pg = ["--store", url, "--schema", schema]
            let source = try jsonLines(try await CLI.ok(["read", "--all", "--limit", "10000"], in: dir))
            let copy = try jsonLines(try await CLI.ok(["read", "--all", "--limit", "10000"] + pg, in: dir))
            #expect(source.map { $0["position"] as! Int } == copy.map { $0["position"] as! Int })
            #expect(source.map { $0["stream"] as! String } == copy.map { $0["stream"] as! String })
            #expect(try await CLI.ok(["streams"], in: dir) == (try await CLI.ok(["streams"] + pg, in: dir)))
            // The restored store continues the archive.
            try await CLI.ok(["append", "--stream", "account-1", "--type", "Noted", "--data", "{}"] + pg, in: dir)
            try await CLI.ok(["flush", "--quiet"] + pg, in: dir)
            #expect(try await CLI.ok(["verify"], in: dir).hasPrefix("verify OK"))
            _ = try await shell("psql '\(url)' -q -c 'DROP SCHEMA \(schema) CASCADE'", in: dir)
        }
    }

    /// A rolled-back append leaves a gap; while another write transaction is open on the server the events above
    /// the gap wait for it (their positions cannot be proved final). Flush archives the committed run below the
    /// gap, then says which events wait and why instead of calling the archive up to date; a named cut fails
    /// with the same reason. Once the transaction ends, they are archived.
    @Test func eventsHeldBackAboveAGapAreNamedNotCalledUpToDate() async throws {
        let url = try #require(Self.url)
        let schema = "hb_" + UUID().uuidString.prefix(8).lowercased()
        let pg = ["--store", url, "--schema", schema]
        let holder = "holder_\(schema)"
        try await withTemporaryDirectory { dir in
            try await CLI.ok(["init"] + pg, in: dir)
            try await CLI.ok(["append"] + pg, in: dir, input: bankEvents(events: 3, accounts: 2, seed: 1))
            _ = try await shell("psql '\(url)' -qAt -c \"SELECT nextval('\(schema).positions_seq')\"", in: dir)
            try await CLI.ok(["append"] + pg, in: dir, input: bankEvents(events: 2, accounts: 2, seed: 2))
            // A process of its own, not `shell … &`: a background child would keep the shell's output pipe open.
            let psql = Process()
            psql.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            psql.arguments = [
                "psql", url, "-q", "-c", "BEGIN; SELECT pg_current_xact_id(); SELECT pg_sleep(120); COMMIT",
            ]
            psql.environment = ProcessInfo.processInfo.environment.merging(["PGAPPNAME": holder]) { $1 }
            psql.standardOutput = FileHandle.nullDevice
            psql.standardError = FileHandle.nullDevice
            try psql.run()
            defer { psql.terminate() }
            let holding =
                "SELECT count(*) FROM pg_stat_activity WHERE application_name = '\(holder)' AND backend_xid IS NOT NULL"
            var held = ""
            for _ in 0..<200 where held != "1" {
                held = try await shell("psql '\(url)' -At -c \"\(holding)\"", in: dir).out
                    .trimmingCharacters(in: .whitespacesAndNewlines)
                if held != "1" { try await Task.sleep(for: .milliseconds(50)) }
            }
            #expect(held == "1", "the holding transaction did not start")

            let below = try await CLI.ok(["flush"] + pg, in: dir)
            #expect(below.contains("flushed 3 events"), "\(below)")
            let waiting = try await CLI.ok(["flush"] + pg, in: dir)
            #expect(waiting.hasPrefix("nothing flushed: 2 committed event(s) above position 3 wait"), "\(waiting)")
            #expect(waiting.contains("pg_stat_activity"))
            let named = try await CLI.run(["flush", "--cut", "named"] + pg, in: dir)
            #expect(named.status == 64, "\(named)")
            #expect(named.stderr.contains("cut point name 'named': 2 committed event(s)"), "\(named.stderr)")

            _ = try await shell(
                "psql '\(url)' -qAt -c \"SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    + "WHERE application_name = '\(holder)'\"", in: dir)
            var flushed = ""
            for _ in 0..<20 where !flushed.contains("flushed 2 events") {
                flushed = try await CLI.ok(["flush"] + pg, in: dir)
            }
            #expect(flushed.contains("flushed 2 events"), "\(flushed)")
            #expect(try await CLI.ok(["verify"], in: dir).contains("5 events"))
            _ = try await shell("psql '\(url)' -q -c 'DROP SCHEMA \(schema) CASCADE'", in: dir)
        }
    }
}
