import Coordination
import Foundation

/// Writes a projection's rows into a SQLite table, replacing its contents in one transaction: readers see
/// the old read model or the new one, never half of each, and a failed replay leaves the table unchanged.
///
/// The table has two columns, `key TEXT PRIMARY KEY` and `row TEXT` (the row's JSON; query it with SQLite's
/// JSON functions, e.g. `SELECT row->>'$.balance' FROM balances`).
///
/// ```swift
/// try SQLiteTableSink.replace(path: "readmodel.db", table: "balances", rows: rows.map { ($0.key, $0.json) })
/// ```
public enum SQLiteTableSink {
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
            let insert = try db.statement("INSERT INTO \"\(table)\" (key, row) VALUES (?, ?)")
            for row in rows {
                insert.reset()
                insert.bind(1, row.key)
                insert.bind(2, row.json)
                try insert.step()
            }
        }
    }
}
