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
        try replace(url: url, table: table) { body in
            for row in rows {
                var json = row.json
                try json.withUTF8 { try body(row.key, UnsafeRawBufferPointer($0)) }
            }
        }
    }

    /// ``replace(url:table:rows:)`` for rows made as they are sent: `each` calls its argument once per row
    /// (the JSON bytes valid during that call), so that no more than one COPY chunk is held at a time. If
    /// `each` throws, the copy is cancelled, the table keeps its rows and the error is rethrown.
    public static func replace(
        url: String, table: String,
        each: (_ body: (_ key: String, _ json: UnsafeRawBufferPointer) throws -> Void) throws -> Void
    ) throws {
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
                try copy(each, into: quoted, db)
            }
        } catch let error as PostgresServerError {
            throw CoordinationError(
                .queryFailed, "writing table \(table): PostgreSQL error \(error.sqlstate): \(error.message.prefix(300))"
            )
        }
    }

    /// Streams the rows with `COPY quoted (key, row) FROM STDIN`; throws the server's error if the copy fails,
    /// or the producer's error (after cancelling the copy) if `each` fails.
    private static func copy(
        _ each: (_ body: (_ key: String, _ json: UnsafeRawBufferPointer) throws -> Void) throws -> Void,
        into quoted: String, _ db: PostgresConnection
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
        var producerError: (any Error)? = nil
        do {
            try each { key, json in
                var key = key
                key.withUTF8 { appendCopyText(UnsafeRawBufferPointer($0), to: &chunk) }
                chunk.append(0x09)
                appendCopyText(json, to: &chunk)
                chunk.append(0x0A)
                if chunk.count >= copyChunkSize { send() }
            }
            send()
        } catch {
            producerError = error
        }
        // A failed send shows up as the copy's result (or as no result: a lost connection); a failed producer
        // cancels the copy, so that the transaction can roll back.
        let cancel =
            producerError != nil ? "archiver: making rows failed" : sent ? nil : "archiver: sending rows failed"
        _ = PQputCopyEnd(handle, cancel)
        var outcome: OpaquePointer? = nil
        while let result = PQgetResult(handle) {
            if outcome == nil { outcome = result } else { PQclear(result) }
        }
        if let producerError {
            if let outcome { PQclear(outcome) }
            throw producerError
        }
        try expect(outcome, PGRES_COMMAND_OK, db)
    }

    /// A value in COPY's text format: backslash, tab, newline and carriage return escaped. Runs of bytes that
    /// need no escape are appended whole.
    static func appendCopyText(_ bytes: UnsafeRawBufferPointer, to out: inout [UInt8]) {
        var runStart = 0
        for index in 0..<bytes.count {
            let escaped: UInt8
            switch bytes[index] {
            case UInt8(ascii: "\\"): escaped = UInt8(ascii: "\\")
            case 0x09: escaped = UInt8(ascii: "t")
            case 0x0A: escaped = UInt8(ascii: "n")
            case 0x0D: escaped = UInt8(ascii: "r")
            default: continue
            }
            out.append(contentsOf: UnsafeRawBufferPointer(rebasing: bytes[runStart..<index]))
            out.append(0x5C)
            out.append(escaped)
            runStart = index + 1
        }
        out.append(contentsOf: UnsafeRawBufferPointer(rebasing: bytes[runStart...]))
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
