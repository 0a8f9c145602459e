import Coordination
import Foundation

/// Writes a projection's rows into a PostgreSQL table, replacing its contents in one transaction: readers
/// see the old read model or the new one, never half of each, and a failed replay leaves the table unchanged.
///
/// The table has two columns, `key text PRIMARY KEY` and `row jsonb` (query it with PostgreSQL's JSON
/// operators, e.g. `SELECT row->>'balance' FROM balances`). Rows go in with multi-row inserts of a few
/// thousand rows each (`unnest` over two array parameters).
///
/// ```swift
/// try PostgresTableSink.replace(url: "postgres://app@db/app", table: "readmodels.balances", rows: rows)
/// ```
public enum PostgresTableSink {
    /// - Parameter table: `name` or `schema.name` (letters, digits and `_`).
    /// - Throws: ``CoordinationError`` `.invalidInput` for a bad table name; connection and query errors.
    public static func replace(url: String, table: String, rows: [(key: String, json: String)]) throws {
        let part = "[A-Za-z_][A-Za-z0-9_]{0,62}"
        guard table.range(of: "^(\(part)\\.)?\(part)$", options: .regularExpression) != nil else {
            throw CoordinationError(
                .invalidInput,
                "table name '\(table)' must be NAME or SCHEMA.NAME of letters, digits and _ (starting with a letter or _)"
            )
        }
        let quoted = table.split(separator: ".").map { "\"\($0)\"" }.joined(separator: ".")
        let db = try PostgresConnection(url: url)
        do {
            try db.transaction {
                if table.contains(".") {
                    try db.execute("CREATE SCHEMA IF NOT EXISTS \"\(table.split(separator: ".")[0])\"")
                }
                try db.execute("CREATE TABLE IF NOT EXISTS \(quoted) (key text PRIMARY KEY, row jsonb NOT NULL)")
                // DELETE, not TRUNCATE: TRUNCATE is not MVCC-safe for readers with older snapshots.
                try db.execute("DELETE FROM \(quoted)")
                var start = 0
                while start < rows.count {
                    let chunk = rows[start..<min(start + 5_000, rows.count)]
                    try db.query(
                        "INSERT INTO \(quoted) (key, row) SELECT * FROM unnest($1::text[], $2::jsonb[])",
                        [
                            PostgresCoordinationStore.arrayLiteral(chunk.map(\.key)),
                            PostgresCoordinationStore.arrayLiteral(chunk.map(\.json)),
                        ])
                    start += chunk.count
                }
            }
        } catch let error as PostgresServerError {
            throw CoordinationError(
                .queryFailed, "writing table \(table): PostgreSQL error \(error.sqlstate): \(error.message.prefix(300))"
            )
        }
    }
}
