import ArchiveFormat
import ArchiverCore
import Coordination
import CoordinationSQLite
import Foundation
import Lode
import Testing

@Suite struct ProjectionSpecTests {
    @Test(arguments: [
        ("fold", ProjectionSpec.fold), ("sum:amount", .sum(field: "amount")), ("sum:a:b", .sum(field: "a:b")),
    ])
    func parsesTheBuiltInForms(text: String, expected: ProjectionSpec) throws {
        #expect(try ProjectionSpec(projection: text, exec: nil) == expected)
        #expect(expected.supportsAggregateSnapshots)
    }

    @Test(arguments: ["", "sum:", "sum", "merge", "Fold", " fold"])
    func refusesOtherText(text: String) {
        let error = #expect(throws: ArchiverError.self) { try ProjectionSpec(projection: text, exec: nil) }
        #expect(error?.code == .invalidArgument)
        #expect(error?.message == "--projection '\(text)' is not fold or sum:FIELD")
    }

    @Test func execWinsOverTheProjectionText() throws {
        let spec = try ProjectionSpec(projection: "not-a-projection", exec: "python3 p.py")
        #expect(spec == .exec(command: "python3 p.py"))
        #expect(!spec.supportsAggregateSnapshots)
        #expect(throws: ArchiverError.self) { try ProjectionSpec(projection: "fold", exec: "  ") }
    }
}

@Suite struct RowSinkSpecTests {
    @Test(
        arguments: [
            (nil, nil, RowSinkSpec.standardOutput), ("out.jsonl", nil, .jsonLinesFile(path: "out.jsonl")),
            (nil, "sqlite:/tmp/m.db", .sqliteTable(path: "/tmp/m.db", table: "t")),
            (nil, "m.db", .sqliteTable(path: "m.db", table: "t")),
            ("ignored.jsonl", "postgres://u:p@h/db", .postgresTable(url: "postgres://u:p@h/db", table: "t")),
            (nil, "postgresql://h/db", .postgresTable(url: "postgresql://h/db", table: "t")),
        ] as [(String?, String?, RowSinkSpec)])
    func resolvesTheTextForms(output: String?, into: String?, expected: RowSinkSpec) throws {
        #expect(try RowSinkSpec(output: output, into: into, table: "t") == expected)
    }

    @Test func refusesOtherURLsWithoutEchoingThem() {
        let error = #expect(throws: ArchiverError.self) {
            try RowSinkSpec(output: nil, into: "mysql://root:secret@h/db", table: "t")
        }
        #expect(error?.message == "--into takes sqlite:PATH or a postgres:// URL, not a mysql:// URL")
    }

    /// Table destinations come from the caller's writers; without one the resolution says so.
    @Test func tableSinksAreInjected() throws {
        struct Recorder: RowSink {
            let name: String
            func write(_ rows: [ProjectedRow]) throws {}
        }
        let tables = TableSinks(sqlite: { path, table in Recorder(name: "sqlite \(path) \(table)") })
        let sink = try RowSinkSpec.sqliteTable(path: "m.db", table: "t").resolve(tables: tables)
        #expect((sink as? Recorder)?.name == "sqlite m.db t")
        #expect(throws: ArchiverError.self) {
            try RowSinkSpec.postgresTable(url: "postgres://h/db", table: "t").resolve(tables: tables)
        }
        #expect(try RowSinkSpec.jsonLinesFile(path: "x").resolve(tables: tables) is JSONLinesSink)
    }

    @Test func jsonLinesFileIsReplacedWhole() throws {
        let path = NSTemporaryDirectory() + "rows-\(UUID().uuidString).jsonl"
        defer { try? FileManager.default.removeItem(atPath: path) }
        try Data("old contents\nmore\nand more\n".utf8).write(to: URL(fileURLWithPath: path))
        try JSONLinesSink(path: path).write([
            ProjectedRow(key: "a", json: #"{"a":1}"#), ProjectedRow(key: "b", json: #"{"b":2}"#),
        ])
        #expect(try String(contentsOfFile: path, encoding: .utf8) == "{\"a\":1}\n{\"b\":2}\n")
    }
}

@Suite struct ReplayJobTests {
    /// The second run starts from the snapshot the first saved, applies only the newer events, and gives the
    /// rows a replay from scratch gives.
    @Test(arguments: [ProjectionSpec.fold, .sum(field: "amount")])
    func secondRunStartsFromTheSavedSnapshot(spec: ProjectionSpec) async throws {
        try await TestArchive.with(bytesPerSnapshot: 4_096) { test in
            try await test.append(300)
            try await test.flush(checkpointEvery: 0)
            let archive = try test.archive()
            var job = ReplayJob(replayer: Replayer(archive: archive), projection: spec)
            job.saveSnapshot = true
            let first = try await job.run(plan: try await archive.plan(to: CutSelector(parsing: "latest")))
            #expect(first.startedFrom == nil)
            #expect(first.stats.applied == 300)
            let saved = try #require(first.saved)
            #expect(saved.lastPosition == 300 && saved.rows == Int64(first.rows.count))

            try await test.append(40, from: 300)
            try await test.flush(checkpointEvery: 0)
            let plan = try await archive.plan(to: CutSelector(parsing: "latest"))
            job.saveSnapshot = false
            let second = try await job.run(plan: plan)
            #expect(second.startedFrom?.snapshotID == saved.snapshotID)
            #expect(second.stats.applied == 40)
            job.fromScratch = true
            let scratch = try await job.run(plan: plan)
            #expect(scratch.startedFrom == nil && scratch.stats.applied == 340)
            #expect(second.rows.map(\.json) == scratch.rows.map(\.json))
            #expect(second.rows.count == 50)
        }
    }

    @Test func anExecProjectionCannotSaveASnapshot() async throws {
        try await TestArchive.with { test in
            try await test.append(5)
            try await test.flush(checkpointEvery: 0)
            let archive = try test.archive()
            var job = ReplayJob(replayer: Replayer(archive: archive), projection: .exec(command: "cat"))
            let plan = try await archive.plan(to: CutSelector(parsing: "latest"))
            let rows = try await job.run(plan: plan).rows
            #expect(rows.count == 5)
            job.saveSnapshot = true
            let error = await #expect(throws: ArchiverError.self) { try await job.run(plan: plan) }
            #expect(error?.code == .invalidArgument)
        }
    }

    @Test func aSumThatOverflowsIsInvalidData() async throws {
        try await TestArchive.with { test in
            _ = try await test.coordination.append(
                AppendRequest(
                    stream: "big-1",
                    events: [
                        ProposedEvent(type: "T", data: #"{"amount":1e308}"#),
                        ProposedEvent(type: "T", data: #"{"amount":1e308}"#),
                    ]))
            try await test.flush(checkpointEvery: 0)
            let archive = try test.archive()
            let job = ReplayJob(replayer: Replayer(archive: archive), projection: .sum(field: "amount"))
            let error = await #expect(throws: ArchiverError.self) {
                try await job.run(plan: try await archive.plan(to: CutSelector(parsing: "latest")))
            }
            #expect(error?.code == .invalidData)
            #expect(error?.message.hasPrefix("stream 'big-1': the sum of data.amount is no longer a finite") == true)
        }
    }
}
