internal import CSQLite
import Coordination
import Foundation

/// A number the commit hook raises (see ``SQLiteConnection/countCommits()``).
final class CommitCount {
    var value = 0
}

/// One sqlite3 connection (`sqlite3_open_v2`). Not Sendable: it is owned by one actor, whose executor is a
/// dedicated thread, so blocking calls never run on the cooperative pool.
final class SQLiteConnection {
    let handle: OpaquePointer
    let path: String
    private var statements: [String: SQLiteStatement] = [:]
    /// Commits seen by the commit hook, once ``countCommits()`` installed it.
    private(set) var commits = CommitCount()

    init(path: String, readOnly: Bool = false) throws {
        var db: OpaquePointer?
        let flags = (readOnly ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE) | SQLITE_OPEN_NOMUTEX
        let rc = sqlite3_open_v2(path, &db, flags, nil)
        guard rc == SQLITE_OK, let db else {
            let message = db.map { String(cString: sqlite3_errmsg($0)) } ?? "out of memory"
            let systemErrno = db.map { sqlite3_system_errno($0) } ?? 0
            if let db { sqlite3_close_v2(db) }
            if systemErrno == EACCES || rc & 0xFF == SQLITE_READONLY || rc & 0xFF == SQLITE_PERM {
                throw StoreFailures.permissionDenied("cannot open SQLite database \(path)", detail: message)
            }
            throw CoordinationError(
                .connectionFailed, "cannot open SQLite database \(path): \(message); check the path and permissions")
        }
        self.handle = db
        self.path = path
        sqlite3_extended_result_codes(db, 1)
    }

    deinit {
        statements.removeAll()
        sqlite3_close_v2(handle)
    }

    /// Counts this connection's commits from now on (`sqlite3_commit_hook`), in ``commits``: tests prove with
    /// it that appends share commits.
    func countCommits() {
        let count = commits
        let context = Unmanaged.passUnretained(count).toOpaque()
        sqlite3_commit_hook(
            handle,
            { context in
                Unmanaged<CommitCount>.fromOpaque(context!).takeUnretainedValue().value += 1
                return 0
            }, context)
    }

    /// Runs one or more statements without results (`sqlite3_exec`).
    func execute(_ sql: String) throws {
        var errorText: UnsafeMutablePointer<CChar>?
        let rc = sqlite3_exec(handle, sql, nil, nil, &errorText)
        if rc != SQLITE_OK {
            let message = errorText.map { String(cString: $0) } ?? String(cString: sqlite3_errstr(rc))
            sqlite3_free(errorText)
            throw error(rc, message)
        }
    }

    /// A prepared statement, cached by its SQL text and reset for reuse.
    func statement(_ sql: String) throws -> SQLiteStatement {
        if let cached = statements[sql] {
            cached.reset()
            return cached
        }
        var stmt: OpaquePointer?
        let rc = sqlite3_prepare_v3(handle, sql, -1, UInt32(SQLITE_PREPARE_PERSISTENT), &stmt, nil)
        guard rc == SQLITE_OK, let stmt else { throw error(rc) }
        let statement = SQLiteStatement(stmt, connection: self)
        statements[sql] = statement
        return statement
    }

    /// Runs `body` in a transaction (`BEGIN IMMEDIATE` takes the write lock up front, so two writers never
    /// deadlock upgrading read locks); rolls back if it throws.
    ///
    /// Every cached statement is reset first and last: a statement left on a row keeps an old read snapshot
    /// open, and a write from an old snapshot fails at once with SQLITE_BUSY_SNAPSHOT instead of waiting.
    func transaction<T>(_ body: () throws -> T) throws -> T {
        resetAll()
        defer { resetAll() }
        try execute("BEGIN IMMEDIATE")
        do {
            let result = try body()
            try execute("COMMIT")
            return result
        } catch {
            try? execute("ROLLBACK")
            throw error
        }
    }

    /// Runs reads outside a transaction, releasing their read snapshot afterwards.
    /// Runs `body` inside a savepoint of the open transaction: its changes stay when it returns, and are rolled
    /// back alone when it throws (the error is then the result).
    /// - Throws: only when the savepoint cannot be opened or rolled back (the caller's transaction is then in
    ///   doubt and must be rolled back whole); then `body`'s error.
    func savepoint<T>(_ body: () throws -> T) throws -> Result<T, any Error> {
        try execute("SAVEPOINT append_call")
        do {
            let result = try body()
            try execute("RELEASE append_call")
            return .success(result)
        } catch {
            let failure = error
            resetAll()
            do {
                try execute("ROLLBACK TO append_call")
                try execute("RELEASE append_call")
            } catch {
                // SQLite ended the whole transaction (a full disk, I/O): the call's own error says why.
                throw failure
            }
            return .failure(failure)
        }
    }

    func read<T>(_ body: () throws -> T) throws -> T {
        defer { resetAll() }
        return try body()
    }

    func resetAll() {
        for statement in statements.values { statement.reset() }
    }

    var changes: Int { Int(sqlite3_changes(handle)) }

    /// The error for result code `rc` of the last call on this connection (its message by default).
    func error(_ rc: Int32, _ message: String? = nil) -> CoordinationError {
        Self.error(
            rc, message ?? String(cString: sqlite3_errmsg(handle)), systemErrno: sqlite3_system_errno(handle),
            path: path)
    }

    /// Maps a result code (and the errno of the failed system call, for I/O errors) to the store's error.
    static func error(_ rc: Int32, _ message: String, systemErrno: Int32, path: String) -> CoordinationError {
        let what = "cannot write the SQLite database \(path)"
        let denied = systemErrno == EACCES || systemErrno == EROFS || systemErrno == EPERM
        switch rc & 0xFF {
        case SQLITE_BUSY, SQLITE_LOCKED:
            return CoordinationError(
                .busy,
                "the SQLite database stayed locked past the busy timeout (\(message)); retry, or look for a "
                    + "process holding a long transaction")
        case SQLITE_CONSTRAINT:
            return CoordinationError(.invalidInput, "constraint violated: \(message)")
        case SQLITE_FULL:
            return StoreFailures.diskFull(what, detail: message)
        case SQLITE_IOERR where systemErrno == ENOSPC:
            return StoreFailures.diskFull(what, detail: message)
        case SQLITE_READONLY, SQLITE_PERM:
            return StoreFailures.permissionDenied(what, detail: message)
        case SQLITE_CANTOPEN where denied, SQLITE_IOERR where denied:
            return StoreFailures.permissionDenied(what, detail: message)
        case SQLITE_CANTOPEN:
            return CoordinationError(.connectionFailed, "cannot open the SQLite database \(path): \(message)")
        case SQLITE_CORRUPT, SQLITE_NOTADB:
            return CoordinationError(.connectionFailed, "the SQLite file is corrupt or not a database: \(message)")
        default:
            return CoordinationError(.queryFailed, "SQLite error \(rc): \(message)")
        }
    }
}

/// A prepared statement (`sqlite3_stmt`). Bind positions start at 1; columns at 0.
final class SQLiteStatement {
    private let stmt: OpaquePointer
    private unowned let connection: SQLiteConnection

    init(_ stmt: OpaquePointer, connection: SQLiteConnection) {
        self.stmt = stmt
        self.connection = connection
    }

    deinit { sqlite3_finalize(stmt) }

    func reset() {
        sqlite3_reset(stmt)
        sqlite3_clear_bindings(stmt)
    }

    func bind(_ index: Int32, _ value: Int64) { sqlite3_bind_int64(stmt, index, value) }
    func bind(_ index: Int32, _ value: Double) { sqlite3_bind_double(stmt, index, value) }
    func bind(_ index: Int32, _ value: String?) {
        guard var value else {
            sqlite3_bind_null(stmt, index)
            return
        }
        value.withUTF8 { buffer in
            _ = sqlite3_bind_text(
                stmt, index, UnsafeRawPointer(buffer.baseAddress!).assumingMemoryBound(to: CChar.self),
                Int32(buffer.count), csqlite_transient())
        }
    }

    /// Binds UTF-8 `bytes` as text (SQLite copies them).
    func bind(_ index: Int32, text bytes: [UInt8]) {
        bytes.withUnsafeBytes { bind(index, text: $0) }
    }

    /// Binds UTF-8 `bytes` as text (SQLite copies them).
    func bind(_ index: Int32, text bytes: UnsafeRawBufferPointer) {
        // An empty buffer may have no address; SQLite wants one for an empty text.
        let start = bytes.baseAddress ?? UnsafeRawPointer(("" as StaticString).utf8Start)
        _ = sqlite3_bind_text(
            stmt, index, start.assumingMemoryBound(to: CChar.self), Int32(bytes.count), csqlite_transient())
    }

    /// Steps once: true while a row is available.
    @discardableResult
    func step() throws -> Bool {
        let rc = sqlite3_step(stmt)
        switch rc {
        case SQLITE_ROW: return true
        case SQLITE_DONE: return false
        default: throw connection.error(rc)
        }
    }

    func int64(_ column: Int32) -> Int64 { sqlite3_column_int64(stmt, column) }
    func double(_ column: Int32) -> Double { sqlite3_column_double(stmt, column) }
    func isNull(_ column: Int32) -> Bool { sqlite3_column_type(stmt, column) == SQLITE_NULL }
    /// A text column's UTF-8 bytes, valid until the next step (empty for NULL).
    func bytes(_ column: Int32) -> UnsafeRawBufferPointer {
        guard let text = sqlite3_column_text(stmt, column) else { return UnsafeRawBufferPointer(start: nil, count: 0) }
        return UnsafeRawBufferPointer(start: text, count: Int(sqlite3_column_bytes(stmt, column)))
    }

    func string(_ column: Int32) -> String {
        guard let text = sqlite3_column_text(stmt, column) else { return "" }
        let count = Int(sqlite3_column_bytes(stmt, column))
        return String(decoding: UnsafeBufferPointer(start: text, count: count), as: UTF8.self)
    }
}
