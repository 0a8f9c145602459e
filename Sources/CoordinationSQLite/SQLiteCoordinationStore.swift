public import Coordination
import Crypto
import Foundation

/// The embedded coordination store on SQLite (WAL mode, one writer connection).
///
/// Positions are assigned inside the write transaction from a `head` counter, so commit order is position
/// order and the safe high-water mark is simply the head. Several processes may share the file: SQLite's
/// write lock serialises them (`BEGIN IMMEDIATE` + a busy timeout).
///
/// ```swift
/// let store = try await SQLiteCoordinationStore(path: "archiver.db")
/// try await store.migrate()
/// ```
public actor SQLiteCoordinationStore: CoordinationStore {
    public enum Synchronous: String, Sendable {
        /// fsync on every commit (default): an acknowledged append survives power loss.
        case full = "FULL"
        /// fsync at WAL checkpoints only: faster; a power loss may drop the last commits (never corrupts).
        case normal = "NORMAL"
    }

    public struct Options: Sendable {
        public var synchronous: Synchronous = .full
        public var busyTimeoutMilliseconds: Int32 = 10_000
        public var limits = AppendLimits()
        /// How concurrent appends through this store share commits (see ``GroupCommit``).
        public var groupCommit = GroupCommit()
        public init() {}
    }

    private let executor: StoreThreadExecutor
    public nonisolated var unownedExecutor: UnownedSerialExecutor { executor.asUnownedSerialExecutor() }
    public nonisolated var taskExecutor: (any TaskExecutor)? { executor }
    private var connection: SQLiteConnection?
    public let path: String
    public let options: Options
    /// Append calls waiting for a group commit.
    private let groups: AppendGroups
    /// Waiters for new events in this process (`waitForEvents`).
    private var waiters: [(position: Int64, continuation: CheckedContinuation<Void, Never>)] = []

    /// Opens (creating if needed) the database at `path`. Call ``migrate()`` before first use.
    public init(path: String, options: Options = Options()) async throws {
        self.path = path
        self.options = options
        self.executor = StoreThreadExecutor(name: "sqlite:\(path)")
        self.groups = AppendGroups(options.groupCommit)
        try await openConnection()
    }

    deinit { executor.shutdown() }

    private func openConnection() async throws {
        let connection = try SQLiteConnection(path: path)
        // The busy timeout first: switching to WAL needs a lock that another process may hold.
        try connection.execute(
            "PRAGMA busy_timeout=\(options.busyTimeoutMilliseconds); PRAGMA journal_mode=WAL; "
                + "PRAGMA synchronous=\(options.synchronous.rawValue); PRAGMA foreign_keys=OFF;")
        self.connection = connection
    }

    private func db() throws -> SQLiteConnection {
        guard let connection else { throw StoreRules.closed() }
        return connection
    }

    /// Caps the database at `pages` pages (`PRAGMA max_page_count` on this connection): the next write that
    /// needs a page fails as a full disk would. For tests of the disk-full path.
    func limitPagesForTesting(_ pages: Int64) throws {
        try db().execute("PRAGMA max_page_count = \(pages)")
    }

    /// Starts counting this store's commits (SQLite's commit hook); ``commitsForTesting()`` reads the count.
    func countCommitsForTesting() throws {
        try db().countCommits()
    }

    func commitsForTesting() throws -> Int { try db().commits.value }

    /// The database's size in pages (`PRAGMA page_count`).
    func pageCountForTesting() throws -> Int64 {
        let select = try db().statement("PRAGMA page_count")
        defer { select.reset() }
        return try select.step() ? select.int64(0) : 0
    }

    public func close() async {
        connection = nil
        for waiter in waiters { waiter.continuation.resume() }
        waiters.removeAll()
    }

    // MARK: - Migrations

    @discardableResult
    public func migrate() async throws -> [MigrationRecord] {
        let db = try db()
        return try db.transaction {
            try MigrationRunner.run(
                embeddedMigrations.map { EmbeddedMigration(version: $0.version, name: $0.name, sql: $0.sql) },
                on: SQLiteMigrationLedger(db: db))
        }
    }

    // MARK: - Append

    public func append(_ request: AppendRequest) async throws -> AppendResult {
        try await appendMultiple([request], idempotencyKey: request.idempotencyKey)[0]
    }

    public func appendMultiple(_ requests: [AppendRequest], idempotencyKey: String?) async throws -> [AppendResult] {
        let call = try AppendCall(requests, idempotencyKey: idempotencyKey, limits: options.limits)
        return try await groups.submit(call) { group in commitGroup(group) }
    }

    /// Commits a group of append calls in one transaction (one fsync), each call in a savepoint of its own so
    /// that its conflict or error leaves the others in; wakes this store's waiters after the commit.
    private func commitGroup(_ group: [AppendCall]) -> [Result<[AppendResult], any Error>] {
        let outcome: [Result<[AppendResult], any Error>]
        do {
            let db = try db()
            if group.count == 1 {
                outcome = [.success(try db.transaction { try appendCall(group[0], db) })]
            } else {
                outcome = try db.transaction { try group.map { call in try db.savepoint { try appendCall(call, db) } } }
            }
        } catch {
            return group.map { _ in .failure(error) }
        }
        let committed = outcome.compactMap { try? $0.get().last }.filter { !$0.replayed }.map(\.lastPosition)
        if let last = committed.max() { wake(upTo: last) }
        return outcome
    }

    /// One append call inside the open transaction: its stored result when its idempotency key was seen
    /// before, otherwise its events, stream heads and key.
    private func appendCall(_ call: AppendCall, _ db: SQLiteConnection) throws -> [AppendResult] {
        if let key = call.idempotencyKey, let stored = try storedResults(key, hash: call.requestHash ?? "", db) {
            return stored
        }
        var head = try headPosition(db)
        let now = StoreRecords.nowMicros()
        var results: [AppendResult] = []
        for (request, events) in zip(call.requests, call.validated) {
            results.append(try insert(request, events, after: &head, now: now, db))
        }
        if let key = call.idempotencyKey {
            let encoded = String(decoding: try JSONEncoder().encode(results), as: UTF8.self)
            let remember = try db.statement(
                "INSERT INTO idempotency (key, request_hash, result, created_at) VALUES (?, ?, ?, ?)")
            remember.bind(1, key)
            remember.bind(2, call.requestHash ?? "")
            remember.bind(3, encoded)
            remember.bind(4, now)
            try remember.step()
        }
        return results
    }

    /// The results stored with `key`, marked replayed; nil when the key is new.
    /// - Throws: `.idempotencyConflict` when the key was used for a different request.
    private func storedResults(_ key: String, hash: String, _ db: SQLiteConnection) throws -> [AppendResult]? {
        let lookup = try db.statement("SELECT request_hash, result FROM idempotency WHERE key = ?")
        defer { lookup.reset() }
        lookup.bind(1, key)
        guard try lookup.step() else { return nil }
        guard lookup.string(0) == hash else { throw StoreRules.idempotencyConflict(key: key) }
        return try AppendResult.decodeArray(json: lookup.string(1)).map {
            var result = $0
            result.replayed = true
            return result
        }
    }

    /// Checks `request`'s expectation and inserts its events after position `head` (advanced past them).
    private func insert(
        _ request: AppendRequest, _ events: [ProposedEvent], after head: inout Int64, now: Int64,
        _ db: SQLiteConnection
    ) throws -> AppendResult {
        let current = try streamVersion(request.stream, db)
        try AppendValidation.check(request.expected, actual: current, stream: request.stream)
        let first = head + 1
        var version = current
        let insert = try db.statement(
            "INSERT INTO events (position, stream, version, id, type, data, metadata, recorded_at) "
                + "VALUES (?, ?, ?, ?, ?, ?, ?, ?)")
        for event in events {
            head += 1
            version += 1
            insert.reset()
            insert.bind(1, head)
            insert.bind(2, request.stream)
            insert.bind(3, version)
            insert.bind(4, event.id)
            insert.bind(5, event.type)
            insert.bind(6, event.data)
            insert.bind(7, event.metadata)
            insert.bind(8, now)
            try insert.step()
        }
        let upsert = try db.statement(
            "INSERT INTO streams (stream, version, last_position) VALUES (?, ?, ?) "
                + "ON CONFLICT (stream) DO UPDATE SET version = excluded.version, "
                + "last_position = excluded.last_position")
        upsert.bind(1, request.stream)
        upsert.bind(2, version)
        upsert.bind(3, head)
        try upsert.step()
        return AppendResult(
            stream: request.stream, firstVersion: current + 1, lastVersion: version, firstPosition: first,
            lastPosition: head, eventIDs: events.map { $0.id! }, replayed: false)
    }

    private func streamVersion(_ stream: String, _ db: SQLiteConnection) throws -> Int64 {
        let select = try db.statement("SELECT version FROM streams WHERE stream = ?")
        defer { select.reset() }
        select.bind(1, stream)
        return try select.step() ? select.int64(0) : 0
    }

    /// The highest position handed out: the last event's, or, when the events up to it were pruned, the
    /// `head` state row that pruning (and restore) records. Appends do not write the row: one page less per
    /// commit (measured ~7% of a single-event append's time, most of it the WAL write and fsync).
    private func headPosition(_ db: SQLiteConnection) throws -> Int64 {
        let select = try db.statement("SELECT max(position) FROM events")
        defer { select.reset() }
        let last = try select.step() && !select.isNull(0) ? select.int64(0) : 0
        return max(last, try readState("head", db))
    }

    private func readState(_ name: String, _ db: SQLiteConnection) throws -> Int64 {
        let select = try db.statement("SELECT value FROM state WHERE name = ?")
        defer { select.reset() }
        select.bind(1, name)
        guard try select.step() else { throw StoreRules.notInitialised() }
        return select.int64(0)
    }

    private func writeState(_ name: String, _ value: Int64, _ db: SQLiteConnection) throws {
        let update = try db.statement("UPDATE state SET value = ? WHERE name = ?")
        update.bind(1, value)
        update.bind(2, name)
        try update.step()
    }

    // MARK: - Reads

    private static let eventColumns = "position, stream, version, id, type, data, metadata, recorded_at"

    private func events(_ statement: SQLiteStatement) throws -> [RecordedEvent] {
        var events: [RecordedEvent] = []
        while try statement.step() {
            events.append(
                RecordedEvent(
                    position: statement.int64(0), stream: statement.string(1), version: statement.int64(2),
                    id: statement.string(3), type: statement.string(4), data: statement.string(5),
                    metadata: statement.string(6), recordedAtNanos: statement.int64(7) * 1000))
        }
        return events
    }

    public func readStream(_ stream: String, fromVersion: Int64, limit: Int) async throws -> [RecordedEvent] {
        let db = try db()
        let select = try db.statement(
            "SELECT \(Self.eventColumns) FROM events WHERE stream = ? AND version >= ? ORDER BY version LIMIT ?")
        select.bind(1, stream)
        select.bind(2, max(1, fromVersion))
        select.bind(3, Int64(limit))
        let found = try events(select)
        try StoreRules.checkReadStream(
            stream, from: max(1, fromVersion), firstFound: found.first?.version,
            streamVersion: try streamVersion(stream, db))
        return found
    }

    public func readAll(after position: Int64, limit: Int) async throws -> [RecordedEvent] {
        try events(try readAllStatement(after: position, limit: limit))
    }

    public func readAllPacked(after position: Int64, limit: Int) async throws -> PackedEvents {
        let select = try readAllStatement(after: position, limit: limit)
        var packed = PackedEvents()
        packed.reserve(min(limit, 1 << 16), bytes: min(limit, 1 << 16) * 512)
        while try select.step() {
            packed.append(
                position: select.int64(0), version: select.int64(2), recordedAtNanos: select.int64(7) * 1000,
                stream: select.bytes(1), id: select.bytes(3), type: select.bytes(4), data: select.bytes(5),
                metadata: select.bytes(6))
        }
        return packed
    }

    private func readAllStatement(after position: Int64, limit: Int) throws -> SQLiteStatement {
        let db = try db()
        try StoreRules.checkReadAll(after: position, prunedThrough: try readState("pruned_through", db))
        let select = try db.statement(
            "SELECT \(Self.eventColumns) FROM events WHERE position > ? ORDER BY position LIMIT ?")
        select.bind(1, position)
        select.bind(2, Int64(limit))
        return select
    }

    public func safeHighWaterMark() async throws -> Int64 {
        try headPosition(try db())
    }

    public func streams(after: String?, limit: Int) async throws -> [StreamHead] {
        let db = try db()
        let select = try db.statement(
            "SELECT stream, version, last_position FROM streams WHERE stream > ? ORDER BY stream LIMIT ?")
        select.bind(1, after ?? "")
        select.bind(2, Int64(limit))
        var heads: [StreamHead] = []
        while try select.step() {
            heads.append(StreamHead(stream: select.string(0), version: select.int64(1), lastPosition: select.int64(2)))
        }
        return heads
    }

    public func streamHead(_ stream: String) async throws -> StreamHead? {
        let db = try db()
        let select = try db.statement("SELECT version, last_position FROM streams WHERE stream = ?")
        defer { select.reset() }
        select.bind(1, stream)
        return try select.step()
            ? StreamHead(stream: stream, version: select.int64(0), lastPosition: select.int64(1)) : nil
    }

    public func status() async throws -> StoreStatus {
        let db = try db()
        let head = try headPosition(db)
        let lag = try await flushLag()
        return StoreStatus(
            headPosition: head, safeHighWaterMark: head, flushCursor: lag.flushCursor,
            unflushedCount: lag.unflushedCount, streamCount: try count("SELECT count(*) FROM streams", in: db),
            eventCount: try count("SELECT count(*) FROM events", in: db), prunedThrough: lag.prunedThrough)
    }

    public func flushLag() async throws -> FlushLag {
        let db = try db()
        let cursor = try flushCursorRow(db)
        return FlushLag(
            flushCursor: cursor.position,
            unflushedCount: try count("SELECT count(*) FROM events WHERE position > ?", cursor.position, in: db),
            prunedThrough: try readState("pruned_through", db))
    }

    /// The single number `sql` selects (with `bind` as its parameter, if any).
    private func count(_ sql: String, _ bind: Int64? = nil, in db: SQLiteConnection) throws -> Int64 {
        let statement = try db.statement(sql)
        defer { statement.reset() }
        if let bind { statement.bind(1, bind) }
        return try statement.step() ? statement.int64(0) : 0
    }

    // MARK: - Flusher bookkeeping

    private func flushCursorRow(_ db: SQLiteConnection) throws -> FlushCursor {
        let select = try db.statement(
            "SELECT position, chain_head, snapshot_id, archived_count FROM flush_cursor WHERE id = 1")
        defer { select.reset() }
        guard try select.step() else { throw StoreRules.notInitialised() }
        return FlushCursor(
            position: select.int64(0), chainHead: select.string(1), snapshotID: select.string(2),
            archivedCount: select.int64(3))
    }

    public func flushCursor() async throws -> FlushCursor { try flushCursorRow(try db()) }

    public func pendingFlushIntent() async throws -> FlushIntent? { try intentRow(try db()) }

    private func intentRow(_ db: SQLiteConnection) throws -> FlushIntent? {
        let select = try db.statement(
            "SELECT snapshot_id, first_position, last_position, event_count, chain_start, chain_head, "
                + "parent_snapshot_id, cut_name, fencing_token FROM flush_intent WHERE id = 1")
        defer { select.reset() }
        guard try select.step() else { return nil }
        return FlushIntent(
            snapshotID: select.string(0), firstPosition: select.int64(1), lastPosition: select.int64(2),
            eventCount: select.int64(3), chainStart: select.string(4), chainHead: select.string(5),
            parentSnapshotID: select.string(6), cutName: select.isNull(7) ? nil : select.string(7),
            fencingToken: select.int64(8))
    }

    /// Fencing: the intent's token must be the flush lease's current token.
    private func checkFence(_ token: Int64, _ db: SQLiteConnection) throws {
        let select = try db.statement("SELECT fencing_token FROM leases WHERE name = ?")
        defer { select.reset() }
        select.bind(1, AppendValidation.flushLeaseName)
        try StoreRules.checkFence(token, current: try select.step() ? select.int64(0) : nil)
    }

    public func recordFlushIntent(_ intent: FlushIntent) async throws {
        let db = try db()
        try db.transaction {
            try checkFence(intent.fencingToken, db)
            try StoreRules.checkNoPendingIntent(try intentRow(db))
            let insert = try db.statement(
                "INSERT INTO flush_intent (id, snapshot_id, first_position, last_position, event_count, chain_start, "
                    + "chain_head, parent_snapshot_id, cut_name, fencing_token) VALUES (1, ?, ?, ?, ?, ?, ?, ?, ?, ?)")
            insert.bind(1, intent.snapshotID)
            insert.bind(2, intent.firstPosition)
            insert.bind(3, intent.lastPosition)
            insert.bind(4, intent.eventCount)
            insert.bind(5, intent.chainStart)
            insert.bind(6, intent.chainHead)
            insert.bind(7, intent.parentSnapshotID)
            insert.bind(8, intent.cutName)
            insert.bind(9, intent.fencingToken)
            try insert.step()
        }
    }

    public func completeFlush(_ intent: FlushIntent) async throws {
        let db = try db()
        try db.transaction {
            try checkFence(intent.fencingToken, db)
            try StoreRules.checkIntentPending(intent, pending: try intentRow(db))
            let update = try db.statement(
                "UPDATE flush_cursor SET position = ?, chain_head = ?, snapshot_id = ?, "
                    + "archived_count = archived_count + ? WHERE id = 1")
            update.bind(1, intent.lastPosition)
            update.bind(2, intent.chainHead)
            update.bind(3, intent.snapshotID)
            update.bind(4, intent.eventCount)
            try update.step()
            try db.execute("DELETE FROM flush_intent")
        }
    }

    public func abandonFlushIntent(snapshotID: String) async throws {
        let db = try db()
        try db.transaction {
            let delete = try db.statement("DELETE FROM flush_intent WHERE snapshot_id = ?")
            delete.bind(1, snapshotID)
            try delete.step()
        }
    }

    // MARK: - Leases

    public func acquireLease(_ name: String, holder: String, ttlSeconds: Double) async throws -> Lease? {
        let db = try db()
        let now = Date().timeIntervalSince1970
        return try db.transaction {
            let lease = StoreRules.acquire(
                name, current: try leaseRow(name, db), holder: holder, now: now, ttlSeconds: ttlSeconds)
            if let lease { try writeLease(lease, db) }
            return lease
        }
    }

    public func takeOverLease(
        _ name: String, from previousHolder: String, holder: String, ttlSeconds: Double
    )
        async throws -> Lease?
    {
        let db = try db()
        let now = Date().timeIntervalSince1970
        return try db.transaction {
            let lease = StoreRules.takeOver(
                name, current: try leaseRow(name, db), from: previousHolder, holder: holder, now: now,
                ttlSeconds: ttlSeconds)
            if let lease { try writeLease(lease, db) }
            return lease
        }
    }

    public func releaseLease(_ name: String, holder: String) async throws {
        let db = try db()
        // The row stays so the fencing token keeps increasing across holders.
        try db.transaction {
            let update = try db.statement("UPDATE leases SET expires_at = 0 WHERE name = ? AND holder = ?")
            update.bind(1, name)
            update.bind(2, holder)
            try update.step()
        }
    }

    public func currentLease(_ name: String) async throws -> Lease? { try leaseRow(name, try db()) }

    private func leaseRow(_ name: String, _ db: SQLiteConnection) throws -> Lease? {
        let select = try db.statement("SELECT holder, fencing_token, expires_at FROM leases WHERE name = ?")
        defer { select.reset() }
        select.bind(1, name)
        guard try select.step() else { return nil }
        return Lease(name: name, holder: select.string(0), fencingToken: select.int64(1), expiresAt: select.double(2))
    }

    private func writeLease(_ lease: Lease, _ db: SQLiteConnection) throws {
        let upsert = try db.statement(
            "INSERT INTO leases (name, holder, fencing_token, expires_at) VALUES (?, ?, ?, ?) ON CONFLICT (name) "
                + "DO UPDATE SET holder = excluded.holder, fencing_token = excluded.fencing_token, "
                + "expires_at = excluded.expires_at")
        upsert.bind(1, lease.name)
        upsert.bind(2, lease.holder)
        upsert.bind(3, lease.fencingToken)
        upsert.bind(4, lease.expiresAt)
        try upsert.step()
    }

    // MARK: - Restore

    public func restoreEvents(_ events: [RecordedEvent]) async throws {
        guard !events.isEmpty else { return }
        let db = try db()
        try db.transaction {
            let insert = try db.statement(
                "INSERT INTO events (position, stream, version, id, type, data, metadata, recorded_at) "
                    + "VALUES (?, ?, ?, ?, ?, ?, ?, ?)")
            let upsert = try db.statement(
                "INSERT INTO streams (stream, version, last_position) VALUES (?, ?, ?) ON CONFLICT (stream) DO UPDATE "
                    + "SET version = max(version, excluded.version), last_position = max(last_position, "
                    + "excluded.last_position)")
            for e in events {
                insert.reset()
                insert.bind(1, e.position)
                insert.bind(2, e.stream)
                insert.bind(3, e.version)
                insert.bind(4, e.id)
                insert.bind(5, e.type)
                insert.bind(6, e.data)
                insert.bind(7, e.metadata)
                insert.bind(8, e.recordedAtNanos / 1000)
                try insert.step()
                upsert.reset()
                upsert.bind(1, e.stream)
                upsert.bind(2, e.version)
                upsert.bind(3, e.position)
                try upsert.step()
            }
            try writeState("head", max(try headPosition(db), events.last!.position), db)
        }
    }

    public func restoreFlushCursor(_ cursor: FlushCursor) async throws {
        let db = try db()
        try db.transaction {
            let update = try db.statement(
                "UPDATE flush_cursor SET position = ?, chain_head = ?, snapshot_id = ?, archived_count = ? WHERE id = 1"
            )
            update.bind(1, cursor.position)
            update.bind(2, cursor.chainHead)
            update.bind(3, cursor.snapshotID)
            update.bind(4, cursor.archivedCount)
            try update.step()
        }
    }

    // MARK: - Checkpoints and maintenance

    public func setCheckpoint(_ name: String, position: Int64) async throws {
        let db = try db()
        let upsert = try db.statement(
            "INSERT INTO checkpoints (name, position) VALUES (?, ?) ON CONFLICT (name) DO UPDATE SET position = excluded.position"
        )
        upsert.bind(1, name)
        upsert.bind(2, position)
        try upsert.step()
    }

    public func checkpoints() async throws -> [ConsumerCheckpoint] {
        let select = try db().statement("SELECT name, position FROM checkpoints ORDER BY name")
        var result: [ConsumerCheckpoint] = []
        while try select.step() { result.append(ConsumerCheckpoint(name: select.string(0), position: select.int64(1))) }
        return result
    }

    // MARK: - Subject keys

    public func subjectKey(_ subject: String, create: Bool) async throws -> SubjectKey? {
        let db = try db()
        return try db.transaction {
            let select = try db.statement("SELECT key, forgotten_at FROM subject_keys WHERE subject = ?")
            defer { select.reset() }
            select.bind(1, subject)
            if try select.step() {
                return try SubjectKey.stored(
                    select.isNull(0) ? nil : select.string(0), select.isNull(1) ? nil : select.int64(1))
            }
            guard create else { return nil }
            let hex = SubjectKey.generateHex()
            let insert = try db.statement("INSERT INTO subject_keys (subject, key, created_at) VALUES (?, ?, ?)")
            insert.bind(1, subject)
            insert.bind(2, hex)
            insert.bind(3, StoreRecords.nowMicros())
            try insert.step()
            return try SubjectKey.stored(hex, nil)
        }
    }

    public func subjectKeys() async throws -> [String: SubjectKey] {
        let select = try db().statement("SELECT subject, key, forgotten_at FROM subject_keys")
        defer { select.reset() }
        var keys: [String: SubjectKey] = [:]
        while try select.step() {
            keys[select.string(0)] = try SubjectKey.stored(
                select.isNull(1) ? nil : select.string(1), select.isNull(2) ? nil : select.int64(2))
        }
        return keys
    }

    public func forgetSubject(
        _ subject: String, metadataField: String?, redactedData: String
    ) async throws
        -> ForgetResult
    {
        let db = try db()
        // Overwrite freed pages, so the key's bytes do not linger in the database file.
        try db.execute("PRAGMA secure_delete = ON")
        let result: ForgetResult = try db.transaction {
            try StoreRules.checkNoFlushInProgress(try intentRow(db) != nil)
            let now = StoreRecords.nowMicros()
            let select = try db.statement("SELECT key FROM subject_keys WHERE subject = ?")
            select.bind(1, subject)
            let hadKey = try select.step() && !select.isNull(0)
            select.reset()
            let upsert = try db.statement(
                "INSERT INTO subject_keys (subject, key, created_at, forgotten_at) VALUES (?, NULL, ?, ?) "
                    + "ON CONFLICT (subject) DO UPDATE SET key = NULL, "
                    + "forgotten_at = coalesce(subject_keys.forgotten_at, excluded.forgotten_at)")
            upsert.bind(1, subject)
            upsert.bind(2, now)
            upsert.bind(3, now)
            try upsert.step()
            var redacted = 0
            if let metadataField {
                let update = try db.statement(
                    "UPDATE events SET data = ? WHERE json_valid(metadata) AND json_extract(metadata, ?) = ? "
                        + "AND json_type(metadata, ?) = 'text'")
                let path = "$.\"" + metadataField + "\""
                update.bind(1, redactedData)
                update.bind(2, path)
                update.bind(3, subject)
                update.bind(4, path)
                try update.step()
                redacted = db.changes
            }
            return ForgetResult(destroyedKey: hadKey, redactedHotEvents: redacted)
        }
        // Move the change out of the write-ahead log into the database file (and reset the log).
        try? db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        return result
    }

    public func pruneEvents(upTo position: Int64) async throws -> Int {
        let db = try db()
        let deleted: Int = try db.transaction {
            let lowest = try db.statement("SELECT name, position FROM checkpoints ORDER BY position, name LIMIT 1")
            let checkpoint =
                try lowest.step() ? ConsumerCheckpoint(name: lowest.string(0), position: lowest.int64(1)) : nil
            try StoreRules.checkPrune(
                upTo: position, flushCursor: try flushCursorRow(db).position, lowestCheckpoint: checkpoint)
            // The head survives its events: positions are never handed out twice.
            try writeState("head", try headPosition(db), db)
            let delete = try db.statement("DELETE FROM events WHERE position <= ?")
            delete.bind(1, position)
            try delete.step()
            let count = db.changes
            try writeState("pruned_through", max(position, try readState("pruned_through", db)), db)
            return count
        }
        return deleted
    }

    public func prunedThrough() async throws -> Int64 { try readState("pruned_through", try db()) }

    public func pruneIdempotencyKeys(olderThanSeconds: Double) async throws -> Int {
        let db = try db()
        return try db.transaction {
            let delete = try db.statement("DELETE FROM idempotency WHERE created_at < ?")
            delete.bind(1, StoreRecords.nowMicros() - Int64(olderThanSeconds * 1_000_000))
            try delete.step()
            return db.changes
        }
    }

    // MARK: - Wake-ups

    public func waitForEvents(after position: Int64, timeoutSeconds: Double) async throws {
        let deadline = ContinuousClock.now + .milliseconds(Int64(timeoutSeconds * 1000))
        while ContinuousClock.now < deadline {
            if try headPosition(try db()) > position { return }
            // Woken at once by appends in this process; other processes are noticed by the poll.
            let poll = min(
                0.25,
                max(
                    0,
                    Double((deadline - ContinuousClock.now).components.seconds)
                        + Double((deadline - ContinuousClock.now).components.attoseconds) / 1e18))
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                waiters.append((position, continuation))
                let executor = self
                Task {
                    try? await Task.sleep(for: .milliseconds(Int64(poll * 1000)))
                    await executor.timeoutWaiters()
                }
            }
        }
    }

    private func wake(upTo position: Int64) {
        let ready = waiters.filter { $0.position < position }
        waiters.removeAll { $0.position < position }
        for waiter in ready { waiter.continuation.resume() }
    }

    private func timeoutWaiters() {
        let all = waiters
        waiters.removeAll()
        for waiter in all { waiter.continuation.resume() }
    }
}
