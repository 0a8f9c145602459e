import Coordination
import Foundation

/// Writes a projection's rows into a SQLite table, replacing its contents in one transaction: readers see
/// the old read model or the new one, never half of each, and a failed replay leaves the table unchanged.
///
/// The table has two columns, `key TEXT PRIMARY KEY` and `row TEXT` (the row's JSON; query it with SQLite's
/// JSON functions, e.g. `SELECT row->>'$.balance' FROM balances`). Rows go in through one prepared statement
/// of ``rowsPerInsert`` rows, stepped once per batch of rows rather than once per row.
///
/// ```swift
/// try SQLiteTableSink.replace(path: "readmodel.db", table: "balances", rows: rows.map { ($0.key, $0.json) })
/// ```
public enum SQLiteTableSink {
    /// Rows per multi-row `INSERT` (two parameters each, well under SQLite's 32,766-parameter limit).
    static let rowsPerInsert = 256

    /// - Throws: ``CoordinationError`` `.invalidInput` for a bad table name; `.queryFailed` and friends from SQLite.
    public static func replace(path: String, table: String, rows: [(key: String, json: String)]) throws {
        try replace(path: path, table: table) { body in
            for row in rows {
                var json = row.json
                try json.withUTF8 { try body(row.key, UnsafeRawBufferPointer($0)) }
            }
        }
    }

    /// ``replace(path:table:rows:)`` for rows made as they are inserted: `each` calls its argument once per
    /// row (the JSON bytes valid during that call), so that no more than one batch of rows is held at a time.
    public static func replace(
        path: String, table: String,
        each: (_ body: (_ key: String, _ json: UnsafeRawBufferPointer) throws -> Void) throws -> Void
    ) throws {
        guard table.range(of: "^[A-Za-z_][A-Za-z0-9_]{0,62}$", options: .regularExpression) != nil else {
            throw CoordinationError(
                .invalidInput, "table name '\(table)' must be letters, digits and _ (starting with a letter or _)")
        }
        let db = try SQLiteConnection(path: path)
        // A page cache that holds a bulk load's pages, so that they reach the WAL once, at commit.
        try db.execute("PRAGMA busy_timeout=10000; PRAGMA journal_mode=WAL; PRAGMA cache_size=-65536;")
        try db.transaction {
            try db.execute("CREATE TABLE IF NOT EXISTS \"\(table)\" (key TEXT PRIMARY KEY, row TEXT NOT NULL)")
            try db.execute("DELETE FROM \"\(table)\"")
            try insertAll(each, into: table, db)
        }
    }

    private static func insertAll(
        _ each: (_ body: (_ key: String, _ json: UnsafeRawBufferPointer) throws -> Void) throws -> Void,
        into table: String, _ db: SQLiteConnection
    ) throws {
        func statement(rows count: Int) throws -> SQLiteStatement {
            let values = Array(repeating: "(?, ?)", count: count).joined(separator: ", ")
            return try db.statement("INSERT INTO \"\(table)\" (key, row) VALUES \(values)")
        }
        let full = try statement(rows: rowsPerInsert)
        // One batch of rows, copied: the bytes a row comes with last only for its call. The JSON of the whole
        // batch shares one buffer (no allocation per row); jsonEnds[i] is where row i's JSON ends in it.
        var keys: [String] = []
        var jsonBytes: [UInt8] = []
        var jsonEnds: [Int] = []
        keys.reserveCapacity(rowsPerInsert)
        jsonEnds.reserveCapacity(rowsPerInsert)
        func insertBatch() throws {
            let insert = keys.count == rowsPerInsert ? full : try statement(rows: keys.count)
            insert.reset()
            jsonBytes.withUnsafeBytes { all in
                var start = 0
                for (offset, key) in keys.enumerated() {
                    insert.bind(Int32(2 * offset + 1), key)
                    let end = jsonEnds[offset]
                    insert.bind(Int32(2 * offset + 2), text: UnsafeRawBufferPointer(rebasing: all[start..<end]))
                    start = end
                }
            }
            try insert.step()
            keys.removeAll(keepingCapacity: true)
            jsonBytes.removeAll(keepingCapacity: true)
            jsonEnds.removeAll(keepingCapacity: true)
        }
        try each { key, json in
            keys.append(key)
            jsonBytes.append(contentsOf: json)
            jsonEnds.append(jsonBytes.count)
            if keys.count == rowsPerInsert { try insertBatch() }
        }
        if !keys.isEmpty { try insertBatch() }
    }
}
