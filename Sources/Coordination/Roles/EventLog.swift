/// The event log: appends with expected versions and idempotency keys, reads by stream and in global
/// order, stream heads, and waiting for new events.
///
/// ```swift
/// let result = try await log.append(
///     AppendRequest(stream: "account-42", expected: .noStream, events: [
///         ProposedEvent(type: "Opened", data: #"{"owner":"ada"}"#)
///     ]))
/// let page = try await log.readAll(after: 0, limit: 100)
/// ```
public protocol EventLog: Sendable {
    /// Appends 1...N events to one stream atomically.
    /// - Throws: `CoordinationError` `.wrongExpectedVersion`, `.idempotencyConflict`, `.invalidInput`
    ///   (see ``AppendValidation``), `.eventTooLarge`.
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

    /// Waits until a committed event with a position above `position` exists, or `timeoutSeconds` pass.
    /// Appends through the same store wake a waiter at once; other processes' appends are noticed by
    /// PostgreSQL `NOTIFY` (on a connection of its own) or, for SQLite and for writers that do not notify,
    /// by a slow poll.
    func waitForEvents(after position: Int64, timeoutSeconds: Double) async throws
}

extension EventLog {
    public nonisolated var taskExecutor: (any TaskExecutor)? { nil }

    public func readAllPacked(after position: Int64, limit: Int) async throws -> PackedEvents {
        PackedEvents(try await readAll(after: position, limit: limit))
    }
}
