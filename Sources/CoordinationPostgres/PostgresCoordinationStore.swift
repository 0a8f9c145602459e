public import Coordination
import Crypto
import Foundation

/// The coordination store on PostgreSQL (one schema per store; several processes may share it).
///
/// Appends run in the server-side function `{{schema}}.append` (one round trip). Positions come from a
/// sequence, so they commit out of order: ``readAll(after:limit:)`` only returns events up to the
/// ``safeHighWaterMark()``, below which no in-flight transaction can still commit (see
/// `docs/COORDINATION.md`).
///
/// ```swift
/// let store = try await PostgresCoordinationStore(url: "postgres://archiver@db/app", options: .init())
/// try await store.migrate()
/// ```
public actor PostgresCoordinationStore: CoordinationStore {
    public struct Options: Sendable {
        public var limits = AppendLimits()
        /// How long ``safeHighWaterMark()`` waits for in-flight transactions before returning the last safe
        /// value it knows.
        public var highWaterMarkWaitSeconds: Double = 2
        /// How often a transaction that failed with a serialization failure or deadlock is run again.
        public var maxRetries = 8
        /// How often ``waitForEvents(after:timeoutSeconds:)`` looks for events that arrived without a
        /// notification (written by something other than an archiver store); appends through a store wake
        /// waiters at once.
        public var waitPollSeconds: Double = 0.5
        /// The shortest time between two `NOTIFY`s that announce this store's appends to other processes'
        /// waiters (the first append after a quiet spell is announced at once; see ``PostgresNotifier``).
        public var notifyIntervalSeconds: Double = 0.025
        /// How concurrent appends through this store share commits (see ``GroupCommit``).
        public var groupCommit = GroupCommit()
        public init() {}
    }

    private let executor: StoreThreadExecutor
    public nonisolated var unownedExecutor: UnownedSerialExecutor { executor.asUnownedSerialExecutor() }
    public nonisolated var taskExecutor: (any TaskExecutor)? { executor }
    private var connection: PostgresConnection?
    /// Waits on a connection of its own (see ``waitForEvents(after:timeoutSeconds:)``).
    private let waiter: PostgresEventWaiter
    /// Append calls waiting for a group commit.
    private let groups: AppendGroups
    /// Announces appends to other processes' waiters, off the append path.
    private let notifier: PostgresNotifier
    /// Reads pages of events on a connection of its own, beside appends.
    private let reader: PostgresEventReader
    private let url: String
    public let schema: String
    public let options: Options
    /// Runs status, stream-head, cursor and safe-mark reads on a connection of its own, beside appends.
    private let state: PostgresStateReader

    /// Connects to the database at `url` (`postgres://` or `postgresql://`, libpq parameters such as
    /// `sslmode` included). Call ``migrate()`` before first use.
    /// - Parameters:
    ///   - schema: the schema holding the store's tables (`^[a-z_][a-z0-9_]{0,62}$`), created by `migrate()`.
    /// - Throws: `.invalidInput` for a bad schema name, `.connectionFailed` (without the password).
    public init(url: String, schema: String = "archiver", options: Options = Options()) async throws {
        guard Self.isValidSchemaName(schema) else {
            throw CoordinationError(
                .invalidInput,
                "schema name '\(schema.prefix(70))' is invalid: use 1 to 63 lowercase letters, digits and "
                    + "underscores, not starting with a digit")
        }
        self.url = url
        self.schema = schema
        self.options = options
        self.executor = StoreThreadExecutor(name: "postgres:\(schema)")
        self.waiter = PostgresEventWaiter(url: url, schema: schema, pollSeconds: options.waitPollSeconds)
        self.reader = PostgresEventReader(url: url, schema: schema)
        self.state = PostgresStateReader(url: url, schema: schema)
        self.groups = AppendGroups(options.groupCommit)
        self.notifier = PostgresNotifier(
            url: url, schema: schema, intervalSeconds: options.notifyIntervalSeconds)
        try await openConnection()
    }

    deinit { executor.shutdown() }

    private func openConnection() async throws {
        connection = try PostgresConnection(url: url)
    }

    static func isValidSchemaName(_ name: String) -> Bool {
        let bytes = Array(name.utf8)
        guard (1...63).contains(bytes.count) else { return false }
        for (index, byte) in bytes.enumerated() {
            let lower = (97...122).contains(byte) || byte == UInt8(ascii: "_")
            guard lower || (index > 0 && (48...57).contains(byte)) else { return false }
        }
        return true
    }

    private func db() throws -> PostgresConnection {
        guard let connection else { throw StoreRules.closed() }
        try connection.ensureConnected()
        return connection
    }

    public func close() async {
        connection = nil
        await waiter.close()
        await reader.close()
        await state.close()
        await notifier.close()
    }

    /// The connection, for tests that need a second session in the same database.
    func rawConnection() throws -> PostgresConnection { try db() }

    // MARK: - Errors and transactions

    /// Maps a server error to the store's error type; `context` says what was being done.
    nonisolated func mapped(_ error: any Error, _ context: String) -> any Error {
        guard let error = error as? PostgresServerError else { return error }
        switch error.sqlstate {
        case "23505":
            return CoordinationError(.invalidInput, "\(context): a unique value is already taken (\(error.message))")
        case let state where state.hasPrefix("22") || state.hasPrefix("23"):
            return CoordinationError(.invalidInput, "\(context): the database refused a value (\(error.message))")
        case "3F000", "42P01", "42883":
            return CoordinationError(
                .queryFailed,
                "\(context): the schema '\(schema)' is not initialised (\(error.message)): run `archiver init` first")
        case "53100":
            return StoreFailures.diskFull("\(context): PostgreSQL", detail: error.message)
        case let state where state.hasPrefix("53"):
            return StoreFailures.resourcesExhausted("\(context): PostgreSQL", detail: "\(state): \(error.message)")
        case "42501":
            return StoreFailures.permissionDenied("\(context): PostgreSQL in schema '\(schema)'", detail: error.message)
        case "57014", "55P03":
            return CoordinationError(.busy, "\(context): PostgreSQL gave up waiting (\(error.message)); retry")
        case let state where state.hasPrefix("08") || state.hasPrefix("57P"):
            return CoordinationError(.connectionFailed, "\(context): PostgreSQL connection failed (\(error.message))")
        default:
            return CoordinationError(
                .queryFailed, "\(context): PostgreSQL error \(error.sqlstate): \(error.message.prefix(300))")
        }
    }

    /// Runs `body` in a transaction, again on serialization failures and deadlocks; maps other errors.
    private func transaction<T>(_ context: String, _ body: (PostgresConnection) throws -> T) async throws -> T {
        try await autocommit(context) { db in try db.transaction { try body(db) } }
    }

    /// `body` (one statement, or a whole transaction) again on serialization failures and deadlocks; maps
    /// other errors. The pause between attempts is a `Task.sleep`: the store's thread serves other calls
    /// meanwhile instead of sleeping.
    private func autocommit<T>(_ context: String, _ body: (PostgresConnection) throws -> T) async throws -> T {
        var attempt = 0
        while true {
            do {
                return try body(try db())
            } catch let error as PostgresServerError where error.isRetryable && attempt < options.maxRetries {
                attempt += 1
                try await Task.sleep(for: .microseconds(Int.random(in: 1_000...5_000) * attempt))
            } catch {
                throw mapped(error, context)
            }
        }
    }

    /// One statement outside a transaction, with errors mapped.
    @discardableResult
    private func run(
        _ context: String, _ sql: String, _ parameters: [String?] = [], prepared: Bool = false
    ) throws -> PostgresRows {
        do {
            return prepared ? try db().prepared(sql, parameters) : try db().query(sql, parameters)
        } catch {
            throw mapped(error, context)
        }
    }

    /// Whether ``migrate()`` has run in this schema (the CLI refuses to create a store implicitly).
    public func isInitialised() async throws -> Bool {
        let rows = try run(
            "look for the store", "SELECT to_regclass($1) IS NOT NULL", [schema + ".archiver_migrations"])
        return rows.bool(0, 0)
    }

    // MARK: - Migrations

    @discardableResult
    public func migrate() async throws -> [MigrationRecord] {
        let schema = self.schema
        return try await transaction("migrate") { db in
            // Concurrent migrations of the same schema take turns.
            try db.query("SELECT pg_advisory_xact_lock(hashtext($1))", ["lode-archiver:" + schema])
            return try MigrationRunner.run(
                embeddedMigrations.map { EmbeddedMigration(version: $0.version, name: $0.name, sql: $0.sql) },
                on: PostgresMigrationLedger(db: db, schema: schema))
        }
    }

    // MARK: - Append

    public func append(_ request: AppendRequest) async throws -> AppendResult {
        try await appendMultiple([request], idempotencyKey: request.idempotencyKey)[0]
    }

    public func appendMultiple(_ requests: [AppendRequest], idempotencyKey: String?) async throws -> [AppendResult] {
        let call = try AppendCall(requests, idempotencyKey: idempotencyKey, limits: options.limits)
        guard !requests.isEmpty else { return [] }
        return try await groups.submit(call) { group in await commitGroup(group) }
    }

    /// Commits a group of append calls: single-stream calls together in one `append_group` statement (one
    /// transaction, one commit), otherwise, or when that statement fails as a whole, each call on its own.
    private func commitGroup(_ group: [AppendCall]) async -> [Result<[AppendResult], any Error>] {
        var outcome: [Result<[AppendResult], any Error>] = []
        if group.count > 1, group.allSatisfy({ $0.requests.count == 1 }), let grouped = try? await appendGroup(group) {
            outcome = grouped
        } else {
            for call in group {
                do {
                    outcome.append(.success(try await appendAlone(call)))
                } catch {
                    outcome.append(.failure(error))
                }
            }
        }
        if outcome.contains(where: { (try? $0.get().last.map { !$0.replayed }) == true }) {
            waiter.appended()
            notifier.appended()
        }
        return outcome
    }

    /// One call in a statement of its own: `{{schema}}.append`, or `append_many` for several requests (each
    /// call is one statement, atomic on its own, so it runs without BEGIN/COMMIT: one round trip, not three).
    private func appendAlone(_ call: AppendCall) async throws -> [AppendResult] {
        try await autocommit("append") { db in
            do {
                if call.requests.count == 1 {
                    return [
                        try callAppend(
                            db, call.requests[0], call.validated[0], key: call.idempotencyKey, hash: call.requestHash)
                    ]
                }
                return try callAppendMany(
                    db, call.requests, call.validated, key: call.idempotencyKey, hash: call.requestHash)
            } catch let error as PostgresServerError where error.sqlstate == "AR002" {
                throw StoreRules.idempotencyConflict(key: call.idempotencyKey ?? "")
            }
        }
    }

    /// Single-stream calls in one `{{schema}}.append_group` statement, sent in stream-name order (so that two
    /// groups lock stream rows in the same order); each call's result or conflict comes back in its own row.
    private func appendGroup(_ group: [AppendCall]) async throws -> [Result<[AppendResult], any Error>] {
        let order = group.indices.sorted { (group[$0].requests[0].stream, $0) < (group[$1].requests[0].stream, $1) }
        let calls = order.map { group[$0] }
        let events = calls.flatMap { $0.validated[0] }
        let schema = self.schema
        let rows = try await autocommit("append") { db in
            try db.prepared(
                "SELECT out_index, out_result, out_replayed, out_error, out_detail FROM \(schema).append_group("
                    + "$1::text[], $2::text[], $3::text[], $4::text[], $5::integer[], $6::uuid[], $7::text[], "
                    + "$8::json[], $9::json[])",
                [
                    Self.arrayLiteral(calls.map(\.requests[0].stream)),
                    Self.arrayLiteral(calls.map(\.requests[0].expected.description)),
                    Self.arrayLiteral(optionals: calls.map(\.idempotencyKey)),
                    Self.arrayLiteral(optionals: calls.map(\.requestHash)),
                    Self.arrayLiteral(calls.map { String($0.validated[0].count) }),
                    Self.arrayLiteral(events.map { $0.id!.lowercased() }), Self.arrayLiteral(events.map(\.type)),
                    Self.arrayLiteral(events.map(\.data)), Self.arrayLiteral(events.map(\.metadata)),
                ])
        }
        guard rows.count == group.count else {
            throw CoordinationError(.queryFailed, "the append_group function returned \(rows.count) results")
        }
        var results = [Result<[AppendResult], any Error>](repeating: .success([]), count: group.count)
        for row in 0..<rows.count {
            let index = order[Int(rows.int64(row, 0)) - 1]
            results[index] = Result { try Self.groupResult(rows, row, call: group[index]) }
        }
        return results
    }

    /// One call's row of `append_group`: its result, or its wrong expected version or idempotency conflict.
    private static func groupResult(_ rows: PostgresRows, _ row: Int, call: AppendCall) throws -> [AppendResult] {
        switch rows.optionalString(row, 3) {
        case nil:
            guard var result = try AppendResult.decodeArray(rows.string(row, 1)).first else {
                throw CoordinationError(.queryFailed, "the append_group function returned no result for a call")
            }
            result.replayed = rows.bool(row, 2)
            return [result]
        case "AR001":
            throw wrongExpectedVersion(detail: rows.optionalString(row, 4), call.requests[0])
        default:
            throw StoreRules.idempotencyConflict(key: call.idempotencyKey ?? "")
        }
    }

    /// Calls `{{schema}}.append_many` for several requests; maps its conflict error to `.wrongExpectedVersion`
    /// for the request it names.
    private func callAppendMany(
        _ db: PostgresConnection, _ requests: [AppendRequest], _ validated: [[ProposedEvent]], key: String?,
        hash: String?
    ) throws -> [AppendResult] {
        let events = validated.joined()
        let rows: PostgresRows
        do {
            rows = try db.prepared(
                "SELECT out_result, out_replayed FROM \(schema).append_many($1::text[], $2::text[], $3::integer[], "
                    + "$4, $5, $6::uuid[], $7::text[], $8::json[], $9::json[])",
                [
                    Self.arrayLiteral(requests.map(\.stream)), Self.arrayLiteral(requests.map(\.expected.description)),
                    Self.arrayLiteral(validated.map { String($0.count) }), key, hash,
                    Self.arrayLiteral(events.map { $0.id!.lowercased() }), Self.arrayLiteral(events.map(\.type)),
                    Self.arrayLiteral(events.map(\.data)), Self.arrayLiteral(events.map(\.metadata)),
                ])
        } catch let error as PostgresServerError where error.sqlstate == "AR001" {
            let index = Int(error.hint ?? "").flatMap { requests.indices.contains($0) ? $0 : nil } ?? 0
            throw Self.wrongExpectedVersion(detail: error.detail, requests[index])
        }
        let results = try AppendResult.decodeArray(rows.string(0, 0))
        guard rows.count == 1, results.count == requests.count else {
            throw CoordinationError(.queryFailed, "the append_many function returned \(results.count) results")
        }
        let replayed = rows.bool(0, 1)
        return results.map {
            var result = $0
            result.replayed = replayed
            return result
        }
    }

    /// The `.wrongExpectedVersion` error for the append functions' `AR001` (`detail` = the stream's actual
    /// version) on `request`.
    private static func wrongExpectedVersion(detail: String?, _ request: AppendRequest) -> any Error {
        let actual = Int64(detail ?? "") ?? 0
        do {
            try AppendValidation.check(request.expected, actual: actual, stream: request.stream)
        } catch {
            return error
        }
        return CoordinationError(
            .wrongExpectedVersion, "wrong expected version for stream '\(request.stream)'", actualVersion: actual,
            stream: request.stream)
    }

    /// Calls `{{schema}}.append` for one stream; maps its conflict error to `.wrongExpectedVersion`.
    private func callAppend(
        _ db: PostgresConnection, _ request: AppendRequest, _ events: [ProposedEvent], key: String?, hash: String?
    ) throws -> AppendResult {
        let rows: PostgresRows
        do {
            rows = try db.prepared(
                "SELECT out_result, out_replayed FROM \(schema).append($1, $2, $3, $4, $5::uuid[], $6::text[], "
                    + "$7::json[], $8::json[])",
                [
                    request.stream, request.expected.description, key, hash,
                    Self.arrayLiteral(events.map { $0.id!.lowercased() }), Self.arrayLiteral(events.map(\.type)),
                    Self.arrayLiteral(events.map(\.data)), Self.arrayLiteral(events.map(\.metadata)),
                ])
        } catch let error as PostgresServerError where error.sqlstate == "AR001" {
            throw Self.wrongExpectedVersion(detail: error.detail, request)
        }
        guard rows.count == 1, let result = try AppendResult.decodeArray(rows.string(0, 0)).first else {
            throw CoordinationError(.queryFailed, "the append function returned no result")
        }
        var appended = result
        appended.replayed = rows.bool(0, 1)
        return appended
    }

    /// A PostgreSQL array literal of quoted elements: `{"a","b\"c"}`. The server unescapes it, so each
    /// element arrives byte for byte.
    static func arrayLiteral(_ items: [String]) -> String {
        arrayLiteral(optionals: items)
    }

    /// ``arrayLiteral(_:)`` with SQL NULL (an unquoted `NULL`) for nil elements.
    static func arrayLiteral(optionals items: [String?]) -> String {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(items.reduce(2) { $0 + ($1?.utf8.count ?? 4) + 3 })
        bytes.append(UInt8(ascii: "{"))
        for (index, item) in items.enumerated() {
            if index > 0 { bytes.append(UInt8(ascii: ",")) }
            guard let item else {
                bytes.append(contentsOf: "NULL".utf8)
                continue
            }
            bytes.append(UInt8(ascii: "\""))
            for byte in item.utf8 {
                // Only ASCII quote and backslash are escaped; UTF-8 continuation bytes never equal them.
                if byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\") { bytes.append(UInt8(ascii: "\\")) }
                bytes.append(byte)
            }
            bytes.append(UInt8(ascii: "\""))
        }
        bytes.append(UInt8(ascii: "}"))
        return String(decoding: bytes, as: UTF8.self)
    }

    // MARK: - Reads

    /// One read-only statement on the state reader's connection (``PostgresStateReader``), with errors mapped.
    private nonisolated func read(
        _ context: String, _ sql: String, _ parameters: [String?] = [], prepared: Bool = false
    ) async throws -> PostgresRows {
        do {
            return try await state.rows(sql, parameters, prepared: prepared)
        } catch {
            throw mapped(error, context)
        }
    }

    private nonisolated func readState(_ name: String) async throws -> Int64 {
        let rows = try await read("read state", "SELECT value FROM \(schema).state WHERE name = $1", [name])
        guard !rows.isEmpty else { throw StoreRules.notInitialised() }
        return rows.int64(0, 0)
    }

    // Page reads run on the reader's connection (`PostgresEventReader`); what may be read (pruned ranges, the
    // safe high-water mark) is decided on the state reader's (`PostgresStateReader`). Neither waits for an
    // append of this store in progress, so the read-only calls below are nonisolated.
    /// Nonisolated: it needs nothing of the store's connection, so it runs even while an append of this store
    /// waits for a lock.
    public nonisolated func readStream(
        _ stream: String, fromVersion: Int64, limit: Int
    ) async throws
        -> [RecordedEvent]
    {
        let wanted = max(1, fromVersion)
        do {
            let (found, head) = try await reader.stream(stream, from: wanted, limit: limit)
            try StoreRules.checkReadStream(stream, from: wanted, firstFound: found.first?.version, streamVersion: head)
            return found
        } catch {
            throw mapped(error, "read stream")
        }
    }

    public nonisolated func readAll(after position: Int64, limit: Int) async throws -> [RecordedEvent] {
        guard let safe = try await readAllBound(after: position) else { return [] }
        do {
            return try await reader.events(after: position, bound: safe, limit: limit)
        } catch {
            throw mapped(error, "read all")
        }
    }

    public nonisolated func readAllPacked(after position: Int64, limit: Int) async throws -> PackedEvents {
        do {
            // The flusher reads page after page: the page after a full one was sent ahead (same bound).
            if let page = try await reader.readAhead(after: position, limit: limit) { return page }
            guard let safe = try await readAllBound(after: position) else { return PackedEvents() }
            return try await reader.page(after: position, bound: safe, limit: limit)
        } catch {
            throw mapped(error, "read all")
        }
    }

    /// The safe high-water mark when events after `position` may be read; nil when there are none.
    /// - Throws: `.prunedRange` when `position` is below what was pruned.
    private nonisolated func readAllBound(after position: Int64) async throws -> Int64? {
        try StoreRules.checkReadAll(after: position, prunedThrough: try await readState("pruned_through"))
        let safe = try await safeHighWaterMark()
        return safe > position ? safe : nil
    }

    /// The highest position below which no in-flight transaction can still commit (see
    /// ``PostgresStateReader/safeHighWaterMark(waitSeconds:)``); waits up to `options.highWaterMarkWaitSeconds`
    /// for transactions in flight.
    public nonisolated func safeHighWaterMark() async throws -> Int64 {
        do {
            return try await state.safeHighWaterMark(waitSeconds: options.highWaterMarkWaitSeconds)
        } catch {
            throw mapped(error, "read the safe high-water mark")
        }
    }

    public nonisolated func streams(after: String?, limit: Int) async throws -> [StreamHead] {
        let rows = try await read(
            "list streams",
            "SELECT stream, version, last_position FROM \(schema).streams WHERE stream > $1 AND version > 0 "
                + "ORDER BY stream LIMIT $2", [after ?? "", String(limit)])
        return (0..<rows.count).map {
            StreamHead(stream: rows.string($0, 0), version: rows.int64($0, 1), lastPosition: rows.int64($0, 2))
        }
    }

    public nonisolated func streamHead(_ stream: String) async throws -> StreamHead? {
        let rows = try await read(
            "read stream head",
            "SELECT version, last_position FROM \(schema).streams WHERE stream = $1 AND version > 0", [stream])
        return rows.isEmpty
            ? nil : StreamHead(stream: stream, version: rows.int64(0, 0), lastPosition: rows.int64(0, 1))
    }

    /// The store's counts and marks. An append in flight delays it by at most `highWaterMarkWaitSeconds`
    /// (the safe mark's wait), never for the append's whole duration.
    public nonisolated func status() async throws -> StoreStatus {
        let head: Int64
        do {
            head = try await state.headPosition()
        } catch {
            throw mapped(error, "read head")
        }
        let safe = try await safeHighWaterMark()
        let lag = try await flushLag()
        let rows = try await read(
            "read status",
            "SELECT (SELECT count(*) FROM \(schema).streams WHERE version > 0), (SELECT count(*) FROM \(schema).events)"
        )
        return StoreStatus(
            headPosition: head, safeHighWaterMark: safe, flushCursor: lag.flushCursor,
            unflushedCount: lag.unflushedCount, streamCount: rows.int64(0, 0), eventCount: rows.int64(0, 1),
            prunedThrough: lag.prunedThrough)
    }

    public nonisolated func flushLag() async throws -> FlushLag {
        let cursor = try await flushCursor()
        let rows = try await read(
            "read the flush lag",
            "SELECT (SELECT count(*) FROM \(schema).events WHERE position > $1), "
                + "(SELECT value FROM \(schema).state WHERE name = 'pruned_through')", [String(cursor.position)])
        return FlushLag(flushCursor: cursor.position, unflushedCount: rows.int64(0, 0), prunedThrough: rows.int64(0, 1))
    }

    // MARK: - Flusher bookkeeping

    public nonisolated func flushCursor() async throws -> FlushCursor {
        let rows = try await read(
            "read the flush cursor",
            "SELECT position, chain_head, snapshot_id, archived_count FROM \(schema).flush_cursor WHERE id = 1")
        guard !rows.isEmpty else { throw StoreRules.notInitialised() }
        return FlushCursor(
            position: rows.int64(0, 0), chainHead: rows.string(0, 1), snapshotID: rows.string(0, 2),
            archivedCount: rows.int64(0, 3))
    }

    public nonisolated func pendingFlushIntent() async throws -> FlushIntent? {
        Self.flushIntent(try await read("read the flush intent", intentSQL(lock: false)))
    }

    private nonisolated func intentSQL(lock: Bool) -> String {
        "SELECT snapshot_id, first_position, last_position, event_count, chain_start, chain_head, "
            + "parent_snapshot_id, cut_name, fencing_token FROM \(schema).flush_intent WHERE id = 1"
            + (lock ? " FOR UPDATE" : "")
    }

    /// The intent row locked for update, inside a transaction on the store's connection.
    private func intentRow(_ db: PostgresConnection, lock: Bool) throws -> FlushIntent? {
        do {
            return Self.flushIntent(try db.query(intentSQL(lock: lock)))
        } catch {
            throw mapped(error, "read the flush intent")
        }
    }

    private static func flushIntent(_ rows: PostgresRows) -> FlushIntent? {
        guard !rows.isEmpty else { return nil }
        return FlushIntent(
            snapshotID: rows.string(0, 0), firstPosition: rows.int64(0, 1), lastPosition: rows.int64(0, 2),
            eventCount: rows.int64(0, 3), chainStart: rows.string(0, 4), chainHead: rows.string(0, 5),
            parentSnapshotID: rows.string(0, 6), cutName: rows.optionalString(0, 7), fencingToken: rows.int64(0, 8))
    }

    /// Fencing: the intent's token must be the flush lease's current token. `FOR SHARE` keeps a takeover
    /// from committing until this transaction has.
    private func checkFence(_ token: Int64, _ db: PostgresConnection) throws {
        let rows = try db.query(
            "SELECT fencing_token FROM \(schema).leases WHERE name = $1 FOR SHARE", [AppendValidation.flushLeaseName])
        try StoreRules.checkFence(token, current: rows.isEmpty ? nil : rows.int64(0, 0))
    }

    public func recordFlushIntent(_ intent: FlushIntent) async throws {
        let schema = self.schema
        try await transaction("record the flush intent") { db in
            try checkFence(intent.fencingToken, db)
            try StoreRules.checkNoPendingIntent(try intentRow(db, lock: true))
            do {
                try db.query(
                    "INSERT INTO \(schema).flush_intent (id, snapshot_id, first_position, last_position, event_count, "
                        + "chain_start, chain_head, parent_snapshot_id, cut_name, fencing_token) "
                        + "VALUES (1, $1, $2, $3, $4, $5, $6, $7, $8, $9)",
                    [
                        intent.snapshotID, String(intent.firstPosition), String(intent.lastPosition),
                        String(intent.eventCount), intent.chainStart, intent.chainHead, intent.parentSnapshotID,
                        intent.cutName, String(intent.fencingToken),
                    ])
            } catch let error as PostgresServerError where error.isUniqueViolation {
                throw CoordinationError(.intentExists, "another flush intent was recorded at the same time")
            }
        }
    }

    public func completeFlush(_ intent: FlushIntent) async throws {
        let schema = self.schema
        try await transaction("complete the flush") { db in
            try checkFence(intent.fencingToken, db)
            try StoreRules.checkIntentPending(intent, pending: try intentRow(db, lock: true))
            try db.query(
                "UPDATE \(schema).flush_cursor SET position = $1, chain_head = $2, snapshot_id = $3, "
                    + "archived_count = archived_count + $4 WHERE id = 1",
                [String(intent.lastPosition), intent.chainHead, intent.snapshotID, String(intent.eventCount)])
            try db.query("DELETE FROM \(schema).flush_intent")
        }
    }

    public func abandonFlushIntent(snapshotID: String) async throws {
        try run("abandon the flush intent", "DELETE FROM \(schema).flush_intent WHERE snapshot_id = $1", [snapshotID])
    }

    // MARK: - Leases

    /// Locks the lease row, creating a never-held placeholder (token 0, expired) if there is none, so two
    /// first acquirers serialise on the row.
    private func lockedLease(_ name: String, _ db: PostgresConnection) throws -> Lease {
        try db.query(
            "INSERT INTO \(schema).leases (name, holder, fencing_token, expires_at) VALUES ($1, '', 0, 0) "
                + "ON CONFLICT (name) DO NOTHING", [name])
        let rows = try db.query(
            "SELECT holder, fencing_token, expires_at FROM \(schema).leases WHERE name = $1 FOR UPDATE", [name])
        return Lease(
            name: name, holder: rows.string(0, 0), fencingToken: rows.int64(0, 1), expiresAt: rows.double(0, 2))
    }

    private func writeLease(_ lease: Lease, _ db: PostgresConnection) throws {
        try db.query(
            "UPDATE \(schema).leases SET holder = $2, fencing_token = $3, expires_at = $4 WHERE name = $1",
            [lease.name, lease.holder, String(lease.fencingToken), String(lease.expiresAt)])
    }

    public func acquireLease(_ name: String, holder: String, ttlSeconds: Double) async throws -> Lease? {
        let now = Date().timeIntervalSince1970
        return try await transaction("acquire the lease") { db in
            let lease = StoreRules.acquire(
                name, current: try lockedLease(name, db), holder: holder, now: now, ttlSeconds: ttlSeconds)
            if let lease { try writeLease(lease, db) }
            return lease
        }
    }

    public func takeOverLease(
        _ name: String, from previousHolder: String, holder: String, ttlSeconds: Double
    )
        async throws -> Lease?
    {
        let now = Date().timeIntervalSince1970
        return try await transaction("take over the lease") { db in
            let lease = StoreRules.takeOver(
                name, current: try lockedLease(name, db), from: previousHolder, holder: holder, now: now,
                ttlSeconds: ttlSeconds)
            if let lease { try writeLease(lease, db) }
            return lease
        }
    }

    public func releaseLease(_ name: String, holder: String) async throws {
        // The row stays so the fencing token keeps increasing across holders.
        try run(
            "release the lease", "UPDATE \(schema).leases SET expires_at = 0 WHERE name = $1 AND holder = $2",
            [name, holder])
    }

    public nonisolated func currentLease(_ name: String) async throws -> Lease? {
        let rows = try await read(
            "read the lease",
            "SELECT holder, fencing_token, expires_at FROM \(schema).leases WHERE name = $1 AND fencing_token > 0",
            [name])
        return rows.isEmpty
            ? nil
            : Lease(name: name, holder: rows.string(0, 0), fencingToken: rows.int64(0, 1), expiresAt: rows.double(0, 2))
    }

    // MARK: - Restore

    public func restoreEvents(_ events: [RecordedEvent]) async throws {
        guard !events.isEmpty else { return }
        let schema = self.schema
        do {
            try await transaction("restore events") { db in
                // An xid before the positions, as for appends (the safe high-water mark relies on it).
                try db.query("SELECT pg_current_xact_id()")
                try db.query(
                    "INSERT INTO \(schema).events (position, stream, version, id, type, data, metadata, recorded_at) "
                        + "SELECT * FROM unnest($1::bigint[], $2::text[], $3::bigint[], $4::uuid[], $5::text[], "
                        + "$6::json[], $7::json[], $8::bigint[])",
                    [
                        Self.arrayLiteral(events.map { String($0.position) }), Self.arrayLiteral(events.map(\.stream)),
                        Self.arrayLiteral(events.map { String($0.version) }), Self.arrayLiteral(events.map(\.id)),
                        Self.arrayLiteral(events.map(\.type)), Self.arrayLiteral(events.map(\.data)),
                        Self.arrayLiteral(events.map(\.metadata)),
                        Self.arrayLiteral(events.map { String($0.recordedAtNanos / 1000) }),
                    ])
                try db.query(
                    "INSERT INTO \(schema).streams (stream, version, last_position) "
                        + "SELECT s, max(v), max(p) FROM unnest($1::text[], $2::bigint[], $3::bigint[]) AS u(s, v, p) "
                        + "GROUP BY s ON CONFLICT (stream) DO UPDATE SET "
                        + "version = greatest(streams.version, excluded.version), "
                        + "last_position = greatest(streams.last_position, excluded.last_position)",
                    [
                        Self.arrayLiteral(events.map(\.stream)), Self.arrayLiteral(events.map { String($0.version) }),
                        Self.arrayLiteral(events.map { String($0.position) }),
                    ])
                // setval is not transactional; a failed restore leaves only a gap in the positions.
                try db.query(
                    "SELECT setval('\(schema).positions_seq', greatest($1::bigint, "
                        + "(SELECT CASE WHEN is_called THEN last_value ELSE 0 END FROM \(schema).positions_seq)), true)",
                    [String(events.map(\.position).max()!)])
            }
        } catch let error as CoordinationError where error.code == .invalidInput {
            throw StoreRules.restoreConflict(error.message)
        }
    }

    public func restoreFlushCursor(_ cursor: FlushCursor) async throws {
        try run(
            "restore the flush cursor",
            "UPDATE \(schema).flush_cursor SET position = $1, chain_head = $2, snapshot_id = $3, archived_count = $4 "
                + "WHERE id = 1",
            [String(cursor.position), cursor.chainHead, cursor.snapshotID, String(cursor.archivedCount)])
    }

    // MARK: - Checkpoints and maintenance

    public func setCheckpoint(_ name: String, position: Int64) async throws {
        try run(
            "set the checkpoint",
            "INSERT INTO \(schema).checkpoints (name, position) VALUES ($1, $2) "
                + "ON CONFLICT (name) DO UPDATE SET position = excluded.position", [name, String(position)])
    }

    public nonisolated func checkpoints() async throws -> [ConsumerCheckpoint] {
        let rows = try await read("list checkpoints", "SELECT name, position FROM \(schema).checkpoints ORDER BY name")
        return (0..<rows.count).map { ConsumerCheckpoint(name: rows.string($0, 0), position: rows.int64($0, 1)) }
    }

    // MARK: - Subject keys

    public func subjectKey(_ subject: String, create: Bool) async throws -> SubjectKey? {
        let schema = self.schema
        return try await transaction("read a subject key") { db in
            if create {
                try db.query(
                    "INSERT INTO \(schema).subject_keys (subject, key, created_at) VALUES ($1, $2, $3) "
                        + "ON CONFLICT (subject) DO NOTHING",
                    [subject, SubjectKey.generateHex(), String(StoreRecords.nowMicros())])
            }
            let rows = try db.query(
                "SELECT key, forgotten_at FROM \(schema).subject_keys WHERE subject = $1", [subject])
            guard !rows.isEmpty else { return nil }
            return try SubjectKey.stored(
                rows.isNull(0, 0) ? nil : rows.string(0, 0), rows.isNull(0, 1) ? nil : rows.int64(0, 1))
        }
    }

    public func subjectKeys() async throws -> [String: SubjectKey] {
        let rows = try run("read subject keys", "SELECT subject, key, forgotten_at FROM \(schema).subject_keys")
        var keys: [String: SubjectKey] = [:]
        for row in 0..<rows.count {
            keys[rows.string(row, 0)] = try SubjectKey.stored(
                rows.isNull(row, 1) ? nil : rows.string(row, 1), rows.isNull(row, 2) ? nil : rows.int64(row, 2))
        }
        return keys
    }

    public func forgetSubject(
        _ subject: String, metadataField: String?, redactedData: String
    ) async throws
        -> ForgetResult
    {
        let schema = self.schema
        let result = try await transaction("forget a subject") { db in
            // The intent row lock orders this with a flusher recording its intent.
            let intent = try db.query("SELECT snapshot_id FROM \(schema).flush_intent WHERE id = 1 FOR UPDATE")
            try StoreRules.checkNoFlushInProgress(!intent.isEmpty)
            let now = String(StoreRecords.nowMicros())
            let had = try db.query(
                "SELECT key IS NOT NULL FROM \(schema).subject_keys WHERE subject = $1 FOR UPDATE", [subject])
            try db.query(
                "INSERT INTO \(schema).subject_keys AS k (subject, key, created_at, forgotten_at) "
                    + "VALUES ($1, NULL, $2, $2) ON CONFLICT (subject) DO UPDATE SET key = NULL, "
                    + "forgotten_at = coalesce(k.forgotten_at, excluded.forgotten_at)", [subject, now])
            var redacted = 0
            if let metadataField {
                redacted = try db.query(
                    "UPDATE \(schema).events SET data = $1::json WHERE metadata->>$2 = $3 "
                        + "AND json_typeof(metadata->$2) = 'string'", [redactedData, metadataField, subject]
                ).affected
            }
            return ForgetResult(destroyedKey: !had.isEmpty && had.bool(0, 0), redactedHotEvents: redacted)
        }
        // Reclaim the dead row version that still holds the key's bytes.
        _ = try? run("vacuum subject keys", "VACUUM \(schema).subject_keys")
        return result
    }

    public func pruneEvents(upTo position: Int64) async throws -> Int {
        let schema = self.schema
        return try await transaction("prune events") { db in
            // The cursor row lock serialises pruning with flush completion.
            let cursor = try db.query("SELECT position FROM \(schema).flush_cursor WHERE id = 1 FOR UPDATE")
                .int64(0, 0)
            let lowest = try db.query(
                "SELECT name, position FROM \(schema).checkpoints ORDER BY position, name LIMIT 1 FOR SHARE")
            try StoreRules.checkPrune(
                upTo: position, flushCursor: cursor,
                lowestCheckpoint: lowest.isEmpty
                    ? nil : ConsumerCheckpoint(name: lowest.string(0, 0), position: lowest.int64(0, 1)))
            let deleted = try db.query("DELETE FROM \(schema).events WHERE position <= $1", [String(position)])
            try db.query(
                "UPDATE \(schema).state SET value = greatest(value, $1) WHERE name = 'pruned_through'",
                [String(position)])
            return deleted.affected
        }
    }

    public nonisolated func prunedThrough() async throws -> Int64 { try await readState("pruned_through") }

    public func pruneIdempotencyKeys(olderThanSeconds: Double) async throws -> Int {
        try run(
            "prune idempotency keys", "DELETE FROM \(schema).idempotency WHERE created_at < $1",
            [String(StoreRecords.nowMicros() - Int64(olderThanSeconds * 1_000_000))]
        ).affected
    }

    // MARK: - Wake-ups

    /// Waits on the waiter's own connection and thread (``PostgresEventWaiter``): appends and reads through
    /// this store run meanwhile. Woken at once by this store's appends, by other stores' `NOTIFY`, and
    /// otherwise by a poll every `options.waitPollSeconds`.
    public func waitForEvents(after position: Int64, timeoutSeconds: Double) async throws {
        _ = try db()
        do {
            try await waiter.wait(after: position, timeoutSeconds: timeoutSeconds)
        } catch {
            throw mapped(error, "wait for events")
        }
    }
}

extension AppendResult {
    /// Decodes the JSON array stored with an idempotency key (or returned by the append function).
    static func decodeArray(_ text: String) throws -> [AppendResult] {
        try AppendResult.decodeArray(json: text)
    }
}
