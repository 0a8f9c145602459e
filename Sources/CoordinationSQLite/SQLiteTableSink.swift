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
        guard table.range(of: "^[A-Za-z_][A-Za-z0-9_]{0,62}$", options: .regularExpression) != nil else {
            throw CoordinationError(
                .invalidInput, "table name '\(table)' must be letters, digits and _ (starting with a letter or _)")
        }
        let db = try SQLiteConnection(path: path)
        try db.execute("PRAGMA busy_timeout=10000; PRAGMA journal_mode=WAL;")
        try db.transaction {
            try db.execute("CREATE TABLE IF NOT EXISTS \"\(table)\" (key TEXT PRIMARY KEY, row TEXT NOT NULL)")
            try db.execute("DELETE FROM \"\(table)\"")
            try insertAll(rows, into: table, db)
        }
    }

    private static func insertAll(
        _ rows: [(key: String, json: String)], into table: String, _ db: SQLiteConnection
    )
        throws
    {
        func statement(rows count: Int) throws -> SQLiteStatement {
            let values = Array(repeating: "(?, ?)", count: count).joined(separator: ", ")
            return try db.statement("INSERT INTO \"\(table)\" (key, row) VALUES \(values)")
        }
        let full = try statement(rows: rowsPerInsert)
        var start = 0
        while start < rows.count {
            let count = min(rowsPerInsert, rows.count - start)
            let insert = count == rowsPerInsert ? full : try statement(rows: count)
            insert.reset()
            for offset in 0..<count {
                let row = rows[start + offset]
                insert.bind(Int32(2 * offset + 1), row.key)
                insert.bind(Int32(2 * offset + 2), row.json)
            }
            try insert.step()
            start += count
        }
    }
}
