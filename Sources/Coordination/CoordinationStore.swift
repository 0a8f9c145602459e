/// The hot side of the archiver: stream heads, optimistic concurrency, idempotency, the global order,
/// and the flusher's bookkeeping (cursor, intent, lease).
///
/// Implementations: `SQLiteCoordinationStore` (embedded default) and `PostgresCoordinationStore`.
/// Every method is safe to call concurrently; implementations serialise access to their connections.
///
/// ```swift
/// let store = try await SQLiteCoordinationStore(path: "archiver.db")
/// try await store.migrate()
/// let result = try await store.append(
///     AppendRequest(stream: "account-42", expected: .noStream, events: [
///         ProposedEvent(type: "Opened", data: #"{"owner":"ada"}"#)
///     ]))
/// ```
public protocol CoordinationStore: Sendable {
    /// Applies the embedded migrations in order; a no-op when they are all applied.
    /// - Throws: `CoordinationError` `.migrationMismatch` when the database carries an unknown or altered migration.
    @discardableResult
    func migrate() async throws -> [MigrationRecord]

    /// Appends 1...N events to one stream atomically.
    func append(_ request: AppendRequest) async throws -> AppendResult

    /// Appends to several streams in one transaction, each with its own expectation.
    /// One idempotency key covers the whole call.
    func appendMultiple(_ requests: [AppendRequest], idempotencyKey: String?) async throws -> [AppendResult]

    /// Events of one stream with `version >= fromVersion`, in version order.
    func readStream(_ stream: String, fromVersion: Int64, limit: Int) async throws -> [RecordedEvent]

    /// Events with `position > after` and `position <= safeHighWaterMark()`, in position order: always
    /// a gap-free prefix of the global order.
    func readAll(after position: Int64, limit: Int) async throws -> [RecordedEvent]

    /// ``readAll(after:limit:)`` as ``PackedEvents``: the same events, without a `String` per column (the
    /// flusher's read). The default packs what `readAll` returns.
    func readAllPacked(after position: Int64, limit: Int) async throws -> PackedEvents

    /// The highest position below which no in-flight transaction can still commit.
    func safeHighWaterMark() async throws -> Int64

    /// The thread the store runs its database calls on, as a task executor, when it has one. A caller
    /// that makes many small calls one after another (the CLI appending single events) runs its loop there
    /// with `withTaskExecutorPreference`: each call and its return then continue on that thread instead of
    /// waking another one twice per call. nil by default.
    nonisolated var taskExecutor: (any TaskExecutor)? { get }

    /// Stream heads, ordered by stream name, starting after `after` (for paging).
    func streams(after: String?, limit: Int) async throws -> [StreamHead]

    /// The current head of one stream, or nil if it has never been written.
    func streamHead(_ stream: String) async throws -> StreamHead?

    /// Head position, safe high-water mark, flush cursor, unflushed count, and the store's stream and event
    /// counts (which count whole tables).
    func status() async throws -> StoreStatus

    /// Flush cursor, unflushed count and pruned position, without ``status()``'s whole-table counts.
    func flushLag() async throws -> FlushLag

    // MARK: Flusher bookkeeping

    /// The archive cursor: everything at or below `position` is in a committed snapshot.
    func flushCursor() async throws -> FlushCursor

    /// The flush intent recorded before uploading, if a flush has not finished.
    func pendingFlushIntent() async throws -> FlushIntent?

    /// Records the intent of the next flush. Fails with `.fenced` if `intent.fencingToken` is not the
    /// current lease's token, and with `.intentExists` if another intent is pending.
    func recordFlushIntent(_ intent: FlushIntent) async throws

    /// Advances the cursor to the intent's last position and chain head and clears the intent, in one
    /// transaction. Fails with `.fenced` if the lease moved on.
    func completeFlush(_ intent: FlushIntent) async throws

    /// Drops a pending intent (only if it carries `snapshotID`), e.g. when its snapshot turned out to be
    /// committed by someone else.
    func abandonFlushIntent(snapshotID: String) async throws

    // MARK: Leases

    /// Takes or renews the lease `name` for `holder`. Returns the lease with its fencing token if
    /// `holder` now holds it; nil if someone else holds an unexpired lease. Every change of holder
    /// increments the fencing token.
    func acquireLease(_ name: String, holder: String, ttlSeconds: Double) async throws -> Lease?

    /// Releases the lease if `holder` holds it.
    func releaseLease(_ name: String, holder: String) async throws

    /// The lease as it stands, whoever holds it (nil if it was never taken).
    func currentLease(_ name: String) async throws -> Lease?

    /// Takes the lease from `previousHolder` even though it has not expired, because that holder is known
    /// to be dead (e.g. a process on this host that no longer exists). Succeeds only if `previousHolder`
    /// still holds it; the fencing token increments.
    func takeOverLease(
        _ name: String, from previousHolder: String, holder: String, ttlSeconds: Double
    )
        async throws -> Lease?

    // MARK: Restore

    /// Inserts archived events with their original positions, versions, ids and times, updating stream
    /// heads and the position sequence. For `archiver restore` into an empty store; events must come in
    /// position order, in batches.
    /// - Throws: `.invalidInput` if a position or stream version is already taken.
    func restoreEvents(_ events: [RecordedEvent]) async throws

    /// Sets the flush cursor after a restore, so the next flush continues the archive the store came from.
    func restoreFlushCursor(_ cursor: FlushCursor) async throws

    // MARK: Consumer checkpoints

    /// Stores a subscriber's position; prune never deletes above the lowest checkpoint.
    func setCheckpoint(_ name: String, position: Int64) async throws
    func checkpoints() async throws -> [ConsumerCheckpoint]

    // MARK: Subject keys (crypto-shredding)

    /// The data key of `subject`. With `create`, a missing key is made (32 random bytes) and stored; a
    /// forgotten subject stays forgotten.
    /// - Returns: nil when the subject has no key and `create` is false.
    func subjectKey(_ subject: String, create: Bool) async throws -> SubjectKey?

    /// Every subject's key or tombstone (replay and export load them once).
    func subjectKeys() async throws -> [String: SubjectKey]

    /// Destroys the subject's key (a tombstone stays, so later flushes redact the subject's events) and, with
    /// `metadataField`, replaces `data` of the hot events whose metadata names the subject with
    /// `redactedData`. Refuses while a flush intent is pending (its events must archive as recorded).
    func forgetSubject(
        _ subject: String, metadataField: String?, redactedData: String
    ) async throws
        -> ForgetResult

    // MARK: Maintenance

    /// Deletes hot events with `position <= position`. Callers must have checked the archive first;
    /// implementations refuse to cross the flush cursor or the lowest consumer checkpoint.
    /// Stream heads and idempotency results survive.
    /// - Returns: the number of events deleted.
    func pruneEvents(upTo position: Int64) async throws -> Int

    /// The highest pruned position (0 if nothing was pruned).
    func prunedThrough() async throws -> Int64

    /// Deletes idempotency results older than the retention.
    func pruneIdempotencyKeys(olderThanSeconds: Double) async throws -> Int

    /// Waits until an event with a position above `position` may exist, or `timeoutSeconds` pass.
    /// PostgreSQL polls the positions sequence; SQLite uses an in-process signal plus a slow poll for other
    /// processes.
    func waitForEvents(after position: Int64, timeoutSeconds: Double) async throws

    /// Closes connections. Further calls fail.
    func close() async
}

extension CoordinationStore {
    public nonisolated var taskExecutor: (any TaskExecutor)? { nil }

    public func readAllPacked(after position: Int64, limit: Int) async throws -> PackedEvents {
        PackedEvents(try await readAll(after: position, limit: limit))
    }
}
