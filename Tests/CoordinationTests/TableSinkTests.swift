import Coordination
import Foundation
import Testing

@testable import CoordinationPostgres
@testable import CoordinationSQLite

/// Rows that are not a multiple of a batch, with the characters COPY's text format escapes.
private func sinkRows(_ count: Int, tag: String) -> [(key: String, json: String)] {
    (0..<count).map { i in
        (String(format: "k%05d", i), #"{"i":\#(i),"tag":"\#(tag)","s":"tab\there \\ back\nslash","u":"é"}"#)
    }
}

@Suite struct SQLiteTableSinkTests {
    func contents(_ path: String, _ table: String) throws -> [String: String] {
        let db = try SQLiteConnection(path: path)
        let select = try db.statement("SELECT key, row FROM \"\(table)\"")
        var rows: [String: String] = [:]
        while try select.step() { rows[select.string(0)] = select.string(1) }
        return rows
    }

    @Test func replacesTheTableInBatchesAndAFailureLeavesItAlone() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("sink-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("rm.db").path
        let first = sinkRows(SQLiteTableSink.rowsPerInsert * 3 + 17, tag: "one")
        try SQLiteTableSink.replace(path: path, table: "model", rows: first)
        #expect(try contents(path, "model") == Dictionary(uniqueKeysWithValues: first.map { ($0.key, $0.json) }))
        let second = sinkRows(5, tag: "two")
        try SQLiteTableSink.replace(path: path, table: "model", rows: second)
        #expect(try contents(path, "model") == Dictionary(uniqueKeysWithValues: second.map { ($0.key, $0.json) }))
        // A duplicate key in the last batch fails the replacement: the table keeps the rows before it.
        #expect(throws: CoordinationError.self) {
            try SQLiteTableSink.replace(path: path, table: "model", rows: sinkRows(600, tag: "x") + [("k00001", "{}")])
        }
        #expect(try contents(path, "model").count == 5)
    }

    /// Rows made as they are inserted: a producer that fails after some batches leaves the table as it was.
    @Test func rowsMadeWhileInsertingAndAProducerFailure() throws {
        struct Stop: Error {}
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("sink-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("rm.db").path
        let rows = sinkRows(SQLiteTableSink.rowsPerInsert + 3, tag: "made")
        func produce(failingAt failure: Int?) -> ((String, UnsafeRawBufferPointer) throws -> Void) throws -> Void {
            { body in
                for (index, row) in rows.enumerated() {
                    if index == failure { throw Stop() }
                    var json = row.json
                    try json.withUTF8 { try body(row.key, UnsafeRawBufferPointer($0)) }
                }
            }
        }
        try SQLiteTableSink.replace(path: path, table: "model", each: produce(failingAt: nil))
        let expected = Dictionary(uniqueKeysWithValues: rows.map { ($0.key, $0.json) })
        #expect(try contents(path, "model") == expected)
        let afterOneBatch = produce(failingAt: SQLiteTableSink.rowsPerInsert + 1)
        #expect(throws: Stop.self) { try SQLiteTableSink.replace(path: path, table: "model", each: afterOneBatch) }
        #expect(try contents(path, "model") == expected)
    }
}

@Suite(
    .enabled(if: TestServices.postgresURL != nil, "ARCHIVER_TEST_POSTGRES_URL is not set (scripts/with-services.sh)"))
struct PostgresTableSinkTests {
    @Test func replacesTheTableWithCopyAndAFailureLeavesItAlone() async throws {
        try await withPostgres { fixture in
            let table = "\(fixture.schema).model"
            func contents() throws -> [String: String] {
                let rows = try fixture.rawConnection().query("SELECT key, row::text FROM \(table)")
                return Dictionary(
                    uniqueKeysWithValues: (0..<rows.count).map { (rows.string($0, 0), rows.string($0, 1)) })
            }
            func jsonb(_ rows: [(key: String, json: String)]) throws -> [String: String] {
                // The server's own text form of each row, to compare with what the sink stored.
                let db = try fixture.rawConnection()
                return try Dictionary(
                    uniqueKeysWithValues: rows.map { row in
                        (row.key, try db.query("SELECT $1::jsonb::text", [row.json]).string(0, 0))
                    })
            }
            let first = sinkRows(PostgresTableSink.copyChunkSize / 40, tag: "one")
            try PostgresTableSink.replace(url: fixture.url, table: table, rows: first)
            #expect(try contents() == jsonb(first))
            let second = sinkRows(3, tag: "two")
            try PostgresTableSink.replace(url: fixture.url, table: table, rows: second)
            #expect(try contents() == jsonb(second))
            let error = #expect(throws: CoordinationError.self) {
                try PostgresTableSink.replace(
                    url: fixture.url, table: table, rows: sinkRows(50, tag: "x") + [("z", "{")])
            }
            #expect(error?.message.contains("22P02") == true)
            #expect(try contents() == jsonb(second))
        }
    }

    /// Rows made as they are copied, with every byte COPY's text format escapes (in keys too) and unicode,
    /// compared with what PostgreSQL returns; a producer failure mid-copy cancels it and leaves the table alone.
    @Test func rowsMadeWhileCopyingSurviveEscapesAndAProducerFailure() async throws {
        struct Stop: Error {}
        try await withPostgres { fixture in
            let table = "\(fixture.schema).made"
            let hostile =
                #"{"s":"tab\t, backslash \\ and \\n, quote \" newline\n cr\r","u":"é 漢字 😀 \u00e9","k":[1,null,true]}"#
            var rows = (0..<(PostgresTableSink.copyChunkSize / 60)).map { i in
                (key: String(format: "k%06d", i), json: #"{"i":\#(i),"raw":"\#(i % 7 == 0 ? #"\t\n\r\\"# : "é")"}"#)
            }
            rows.append((key: "key\twith\ttabs\\and\nnewline\r😀", json: hostile))
            func produce(failingAt failure: Int?) -> ((String, UnsafeRawBufferPointer) throws -> Void) throws -> Void {
                { body in
                    for (index, row) in rows.enumerated() {
                        if index == failure { throw Stop() }
                        var json = row.json
                        try json.withUTF8 { try body(row.key, UnsafeRawBufferPointer($0)) }
                    }
                }
            }
            try PostgresTableSink.replace(url: fixture.url, table: table, each: produce(failingAt: nil))
            let db = try fixture.rawConnection()
            let stored = try db.query("SELECT key, row::text, row = $1::jsonb FROM \(table) ORDER BY key", [hostile])
            #expect(stored.count == rows.count)
            let expected = try Dictionary(
                uniqueKeysWithValues: rows.map { row in
                    (row.key, try db.query("SELECT $1::jsonb::text", [row.json]).string(0, 0))
                })
            let got = Dictionary(
                uniqueKeysWithValues: (0..<stored.count).map { (stored.string($0, 0), stored.string($0, 1)) })
            #expect(got == expected)
            let hostileKey = try db.query("SELECT row->>'s' FROM \(table) WHERE key = $1", [rows.last!.key])
            #expect(hostileKey.count == 1)
            #expect(hostileKey.string(0, 0) == "tab\t, backslash \\ and \\n, quote \" newline\n cr\r")
            #expect(throws: Stop.self) {
                try PostgresTableSink.replace(url: fixture.url, table: table, each: produce(failingAt: rows.count / 2))
            }
            let after = try db.query("SELECT key, row::text FROM \(table)")
            #expect(
                Dictionary(uniqueKeysWithValues: (0..<after.count).map { (after.string($0, 0), after.string($0, 1)) })
                    == expected)
        }
    }
}
