internal import CLibPQ
import Coordination
import Foundation

/// Writes a projection's rows into a PostgreSQL table, replacing its contents in one transaction: readers
/// see the old read model or the new one, never half of each, and a failed replay leaves the table unchanged.
///
/// The table has two columns, `key text PRIMARY KEY` and `row jsonb` (query it with PostgreSQL's JSON
/// operators, e.g. `SELECT row->>'balance' FROM balances`). Rows go in with one `COPY … FROM STDIN` (text
/// format), sent in pieces of ``copyChunkSize`` bytes, inside the same transaction as the `DELETE`.
///
/// ```swift
/// try PostgresTableSink.replace(url: "postgres://app@db/app", table: "readmodels.balances", rows: rows)
/// ```
public enum PostgresTableSink {
    /// Bytes of COPY data gathered before each `PQputCopyData`.
    static let copyChunkSize = 1 << 18

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
                try copy(rows, into: quoted, db)
            }
        } catch let error as PostgresServerError {
            throw CoordinationError(
                .queryFailed, "writing table \(table): PostgreSQL error \(error.sqlstate): \(error.message.prefix(300))"
            )
        }
    }

    /// Streams the rows with `COPY quoted (key, row) FROM STDIN`; throws the server's error if the copy fails.
    private static func copy(
        _ rows: [(key: String, json: String)], into quoted: String, _ db: PostgresConnection
    ) throws {
        let handle = db.handle
        try expect(PQexec(handle, "COPY \(quoted) (key, row) FROM STDIN"), PGRES_COPY_IN, db)
        var chunk: [UInt8] = []
        chunk.reserveCapacity(copyChunkSize + 4096)
        var sent = true
        func send() {
            if sent && !chunk.isEmpty {
                sent =
                    chunk.withUnsafeBytes {
                        PQputCopyData(handle, $0.baseAddress!.assumingMemoryBound(to: CChar.self), Int32($0.count))
                    } == 1
            }
            chunk.removeAll(keepingCapacity: true)
        }
        for row in rows {
            appendCopyText(row.key, to: &chunk)
            chunk.append(0x09)
            appendCopyText(row.json, to: &chunk)
            chunk.append(0x0A)
            if chunk.count >= copyChunkSize { send() }
        }
        send()
        // A failed send shows up as the copy's result (or as no result: a lost connection).
        _ = PQputCopyEnd(handle, sent ? nil : "archiver: sending rows failed")
        var outcome: OpaquePointer? = nil
        while let result = PQgetResult(handle) {
            if outcome == nil { outcome = result } else { PQclear(result) }
        }
        try expect(outcome, PGRES_COMMAND_OK, db)
    }

    /// A value in COPY's text format: backslash, tab, newline and carriage return escaped.
    static func appendCopyText(_ text: String, to out: inout [UInt8]) {
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "\\"): out.append(contentsOf: [0x5C, 0x5C])
            case 0x09: out.append(contentsOf: [0x5C, UInt8(ascii: "t")])
            case 0x0A: out.append(contentsOf: [0x5C, UInt8(ascii: "n")])
            case 0x0D: out.append(contentsOf: [0x5C, UInt8(ascii: "r")])
            default: out.append(byte)
            }
        }
    }

    /// Clears `result`; throws unless its status is `status` (the server's SQLSTATE and message when it has one).
    private static func expect(_ result: OpaquePointer?, _ status: ExecStatusType, _ db: PostgresConnection) throws {
        guard let result else {
            throw CoordinationError(.connectionFailed, "PostgreSQL at \(db.endpoint) did not answer the COPY")
        }
        defer { PQclear(result) }
        guard PQresultStatus(result) != status else { return }
        guard let sqlstate = PQresultErrorField(result, Int32(UInt8(ascii: "C"))).map({ String(cString: $0) }) else {
            throw CoordinationError(
                .connectionFailed, "PostgreSQL at \(db.endpoint) failed during the COPY: connection lost")
        }
        let message = PQresultErrorField(result, Int32(UInt8(ascii: "M"))).map { String(cString: $0) } ?? ""
        throw PostgresServerError(sqlstate: sqlstate, message: message, detail: nil, hint: nil)
    }
}
