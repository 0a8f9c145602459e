internal import CLibPQ
import Coordination
import Foundation

/// An error reported by the PostgreSQL server for one statement, before the store maps it to a
/// ``CoordinationError`` (the store needs the SQLSTATE to retry, or to read a conflict's actual version).
struct PostgresServerError: Error, CustomStringConvertible {
    /// The five-character SQLSTATE, e.g. `40001`, `23505`, or the store's own `AR001`.
    var sqlstate: String
    /// The primary message (no DETAIL: it may carry key values).
    var message: String
    /// The DETAIL field; the append functions put the actual stream version there.
    var detail: String?
    /// The HINT field; `append_many` puts the index of the request whose expectation failed there.
    var hint: String?

    var description: String { "PostgreSQL error \(sqlstate): \(message)" }

    /// Serialization failures and deadlocks: the whole transaction may simply be run again.
    var isRetryable: Bool { sqlstate == "40001" || sqlstate == "40P01" }
    var isUniqueViolation: Bool { sqlstate == "23505" }
}

/// The rows of one result, copied out of the `PGresult` (text format; nil is SQL NULL).
struct PostgresRows {
    var rows: [[String?]]
    /// `PQcmdTuples`: rows inserted, updated or deleted.
    var affected: Int

    var isEmpty: Bool { rows.isEmpty }
    var count: Int { rows.count }

    func string(_ row: Int, _ column: Int) -> String { rows[row][column] ?? "" }
    func optionalString(_ row: Int, _ column: Int) -> String? { rows[row][column] }
    func int64(_ row: Int, _ column: Int) -> Int64 { Int64(rows[row][column] ?? "") ?? 0 }
    func double(_ row: Int, _ column: Int) -> Double { Double(rows[row][column] ?? "") ?? 0 }
    func bool(_ row: Int, _ column: Int) -> Bool { rows[row][column] == "t" }
    func isNull(_ row: Int, _ column: Int) -> Bool { rows[row][column] == nil }
}

/// A result's values in place (binary format), valid while the `PGresult` lives.
struct PostgresResult {
    let result: OpaquePointer

    var count: Int { Int(PQntuples(result)) }

    /// The value's bytes (empty for SQL NULL).
    func bytes(_ row: Int, _ column: Int) -> UnsafeRawBufferPointer {
        let length = Int(PQgetlength(result, Int32(row), Int32(column)))
        return UnsafeRawBufferPointer(start: PQgetvalue(result, Int32(row), Int32(column)), count: length)
    }

    /// A `bigint` value of a binary-format result (8 bytes, big-endian; 0 when it is not 8 bytes).
    func binaryInt64(_ row: Int, _ column: Int) -> Int64 {
        let value = bytes(row, column)
        guard value.count == 8 else { return 0 }
        return Int64(bigEndian: value.loadUnaligned(as: Int64.self))
    }

    /// Calls `body` with a `uuid` value of a binary-format result (16 bytes) as its canonical text,
    /// `xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx` in lowercase, as the server prints it.
    func uuid<R>(_ row: Int, _ column: Int, _ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        let value = bytes(row, column)
        guard value.count == 16 else { return try body(value) }
        return try withUnsafeTemporaryAllocation(byteCount: 36, alignment: 1) { text in
            AppendValidation.writeUUIDText(value, to: text)
            return try body(UnsafeRawBufferPointer(text))
        }
    }
}

/// One libpq connection (`PQconnectdb`). Not Sendable: it is owned by one actor whose executor is a
/// dedicated thread, so the blocking libpq calls never run on Swift's cooperative pool.
final class PostgresConnection {
    let handle: OpaquePointer
    /// `host:port/database` for messages; never the password.
    let endpoint: String

    /// Connects with a `postgres://` or `postgresql://` URI (or a `key=value` string); `sslmode` and the other
    /// libpq parameters work as usual.
    /// - Throws: `.connectionFailed`, naming host and port but never the password.
    init(url: String) throws {
        guard let conn = PQconnectdb(url) else {
            throw CoordinationError(.connectionFailed, "cannot allocate a PostgreSQL connection (out of memory)")
        }
        let endpoint = Self.describe(conn)
        guard PQstatus(conn) == CONNECTION_OK else {
            let message = Self.scrub(String(cString: PQerrorMessage(conn)), url: url)
            PQfinish(conn)
            throw CoordinationError(
                .connectionFailed,
                "cannot connect to PostgreSQL at \(endpoint): \(message); check the URL, that the server is "
                    + "running and accepts connections, and the credentials")
        }
        self.handle = conn
        self.endpoint = endpoint
        // Notices (e.g. "schema already exists, skipping") would otherwise be printed to stderr.
        PQsetNoticeProcessor(conn, { _, _ in }, nil)
    }

    deinit { PQfinish(handle) }

    private static func describe(_ conn: OpaquePointer) -> String {
        func field(_ value: UnsafeMutablePointer<CChar>?) -> String { value.map { String(cString: $0) } ?? "" }
        let host = field(PQhost(conn))
        let port = field(PQport(conn))
        let database = field(PQdb(conn))
        return "\(host.isEmpty ? "localhost" : host):\(port.isEmpty ? "5432" : port)/\(database)"
    }

    /// libpq's messages name host and port; this removes a password that a malformed URL might echo.
    static func scrub(_ message: String, url: String) -> String {
        var text = message.trimmingCharacters(in: .whitespacesAndNewlines)
            .replacingOccurrences(of: "\n", with: " ").replacingOccurrences(of: "\t", with: " ")
        if let scheme = url.range(of: "://"), let at = url[scheme.upperBound...].firstIndex(of: "@") {
            let userInfo = url[scheme.upperBound..<at]
            if let colon = userInfo.firstIndex(of: ":") {
                let password = String(userInfo[userInfo.index(after: colon)...])
                for secret in [password, password.removingPercentEncoding ?? ""] where !secret.isEmpty {
                    text = text.replacingOccurrences(of: secret, with: "***")
                }
            }
        }
        return text
    }

    /// Reconnects (`PQreset`) if the connection was lost; called before each operation.
    func ensureConnected() throws {
        guard PQstatus(handle) != CONNECTION_OK else { return }
        PQreset(handle)
        preparedNames.removeAll()
        readAhead = nil
        guard PQstatus(handle) == CONNECTION_OK else {
            throw CoordinationError(
                .connectionFailed,
                "lost the connection to PostgreSQL at \(endpoint) and cannot reconnect: "
                    + Self.scrub(String(cString: PQerrorMessage(handle)), url: ""))
        }
    }

    /// Runs one statement with text parameters (`PQexecParams`); `nil` is SQL NULL.
    /// - Throws: ``PostgresServerError`` for a server error, `.connectionFailed` when the connection is gone.
    @discardableResult
    func query(_ sql: String, _ parameters: [String?] = []) throws -> PostgresRows {
        discardReadAhead()
        return try consume(
            Self.withCStrings(parameters) { PQexecParams(handle, sql, Int32(parameters.count), nil, $0, nil, nil, 0) })
    }

    /// Statement names by SQL text, for ``prepared(_:_:)``; forgotten when the connection is reset.
    private var preparedNames: [String: String] = [:]

    /// Runs one statement as a prepared statement (`PQprepare` once per connection, then `PQexecPrepared`),
    /// for the hot paths: the server parses and plans it once.
    @discardableResult
    func prepared(_ sql: String, _ parameters: [String?] = []) throws -> PostgresRows {
        try consume(try executePrepared(sql, parameters, resultFormat: 0))
    }

    /// ``prepared(_:_:)`` for large results: `read` gets the result's values in place (no `String` per value),
    /// in binary form (``PostgresResult/binaryInt64(_:_:)``, ``PostgresResult/uuid(_:_:_:)``; `text` and `json`
    /// are their text either way): the server then spends no time printing integers and UUIDs, a third of its
    /// work for a page of events.
    func prepared<R>(_ sql: String, _ parameters: [String?], read: (PostgresResult) throws -> R) throws -> R {
        let result = try check(try executePrepared(sql, parameters, resultFormat: 1))
        defer { PQclear(result) }
        return try read(PostgresResult(result: result))
    }

    private func executePrepared(_ sql: String, _ parameters: [String?], resultFormat: Int32) throws -> OpaquePointer? {
        discardReadAhead()
        let name = try statementName(sql, parameters.count)
        return Self.withCStrings(parameters) {
            PQexecPrepared(handle, name, Int32(parameters.count), $0, nil, nil, resultFormat)
        }
    }

    /// The name of `sql`'s prepared statement, prepared now if this connection has not yet.
    private func statementName(_ sql: String, _ parameterCount: Int) throws -> String {
        if let known = preparedNames[sql] { return known }
        let name = "s\(preparedNames.count + 1)"
        _ = try consume(PQprepare(handle, name, sql, Int32(parameterCount), nil))
        preparedNames[sql] = name
        return name
    }

    /// A prepared statement sent ahead of its caller by ``sendReadAhead(_:_:)``, not collected yet.
    private var readAhead: (sql: String, parameters: [String?])?

    /// Sends the prepared statement `sql` without waiting for its result (`PQsendQueryPrepared`, binary
    /// results as ``prepared(_:_:read:)``), so that the
    /// server runs it while the caller works on the result before; ``takeReadAhead(_:matching:read:)``
    /// collects it. Any other statement on this connection first collects and drops it. Sends nothing when
    /// the statement cannot be sent (the caller's next read then runs it the usual way).
    func sendReadAhead(_ sql: String, _ parameters: [String?]) {
        discardReadAhead()
        guard let name = try? statementName(sql, parameters.count) else { return }
        let sent = Self.withCStrings(parameters) {
            PQsendQueryPrepared(handle, name, Int32(parameters.count), $0, nil, nil, 1)
        }
        if sent == 1 { readAhead = (sql, parameters) }
    }

    /// `read` of the result of the statement sent ahead, when it is `sql` with parameters that `matches`
    /// accepts and it succeeded; nil otherwise (then nothing is pending any more, and the caller runs the
    /// statement itself, which reports any error).
    func takeReadAhead<R>(
        _ sql: String, matching matches: ([String?]) -> Bool, read: (PostgresResult, [String?]) throws -> R
    ) rethrows -> R? {
        guard let pending = readAhead, pending.sql == sql, matches(pending.parameters) else {
            discardReadAhead()
            return nil
        }
        readAhead = nil
        guard let result = collectResults() else { return nil }
        defer { PQclear(result) }
        guard PQresultStatus(result) == PGRES_TUPLES_OK else { return nil }
        return try read(PostgresResult(result: result), pending.parameters)
    }

    /// Collects and drops the result of a statement sent ahead, if any.
    private func discardReadAhead() {
        guard readAhead != nil else { return }
        readAhead = nil
        if let result = collectResults() { PQclear(result) }
    }

    /// The first result of the statement in flight (`PQgetResult` until it returns nil).
    private func collectResults() -> OpaquePointer? {
        var first: OpaquePointer?
        while let result = PQgetResult(handle) {
            if first == nil { first = result } else { PQclear(result) }
        }
        return first
    }

    /// Calls `body` with the parameters as C strings (nil for SQL NULL), freed afterwards.
    private static func withCStrings<R>(
        _ parameters: [String?], _ body: (UnsafePointer<UnsafePointer<CChar>?>?) -> R
    ) -> R {
        let cStrings: [UnsafeMutablePointer<CChar>?] = parameters.map { $0.map { strdup($0) } ?? nil }
        defer { for pointer in cStrings { free(pointer) } }
        return cStrings.withUnsafeBufferPointer { buffer in
            guard let base = buffer.baseAddress, !buffer.isEmpty else { return body(nil) }
            return base.withMemoryRebound(to: UnsafePointer<CChar>?.self, capacity: buffer.count) { body($0) }
        }
    }

    /// Runs one or more statements without parameters (`PQexec`), e.g. a migration.
    @discardableResult
    func execute(_ sql: String) throws -> PostgresRows {
        discardReadAhead()
        return try consume(PQexec(handle, sql))
    }

    private func consume(_ result: OpaquePointer?) throws -> PostgresRows {
        let result = try check(result)
        defer { PQclear(result) }
        let rowCount = Int(PQntuples(result))
        let columnCount = Int(PQnfields(result))
        var rows: [[String?]] = []
        rows.reserveCapacity(rowCount)
        for row in 0..<Int32(rowCount) {
            var values: [String?] = []
            values.reserveCapacity(columnCount)
            for column in 0..<Int32(columnCount) {
                if PQgetisnull(result, row, column) == 1 {
                    values.append(nil)
                } else {
                    let length = Int(PQgetlength(result, row, column))
                    let bytes = UnsafeRawPointer(PQgetvalue(result, row, column)!)
                    values.append(
                        String(decoding: UnsafeRawBufferPointer(start: bytes, count: length), as: UTF8.self))
                }
            }
            rows.append(values)
        }
        let affected = PQcmdTuples(result).map { Int(String(cString: $0)) ?? 0 } ?? 0
        return PostgresRows(rows: rows, affected: affected)
    }

    /// Returns a successful result; frees a failed one and throws its error.
    private func check(_ result: OpaquePointer?) throws -> OpaquePointer {
        guard let result else {
            throw CoordinationError(
                .connectionFailed,
                "PostgreSQL at \(endpoint) did not answer: "
                    + Self.scrub(String(cString: PQerrorMessage(handle)), url: ""))
        }
        switch PQresultStatus(result) {
        case PGRES_COMMAND_OK, PGRES_TUPLES_OK, PGRES_EMPTY_QUERY:
            return result
        default:
            defer { PQclear(result) }
            func field(_ code: UInt8) -> String? {
                PQresultErrorField(result, Int32(code)).map { String(cString: $0) }
            }
            guard let sqlstate = field(UInt8(ascii: "C")) else {
                // No SQLSTATE: the failure was on the client side, typically a lost connection.
                throw CoordinationError(
                    .connectionFailed,
                    "PostgreSQL at \(endpoint) failed: "
                        + Self.scrub(String(cString: PQerrorMessage(handle)), url: ""))
            }
            throw PostgresServerError(
                sqlstate: sqlstate, message: field(UInt8(ascii: "M")) ?? "", detail: field(UInt8(ascii: "D")),
                hint: field(UInt8(ascii: "H")))
        }
    }

    /// Runs `body` between `BEGIN` and `COMMIT`; rolls back if it throws.
    func transaction<T>(_ body: () throws -> T) throws -> T {
        try execute("BEGIN")
        do {
            let result = try body()
            try execute("COMMIT")
            return result
        } catch {
            _ = try? execute("ROLLBACK")
            throw error
        }
    }
}
