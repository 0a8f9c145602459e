/// The flusher's bookkeeping: the archive cursor, the intent recorded before uploading, and how far the
/// hot store is ahead of the archive.
///
/// ```swift
/// try await ledger.recordFlushIntent(intent)   // fenced on the flush lease's token
/// // … upload segments, write the manifest …
/// try await ledger.completeFlush(intent)       // cursor = intent.lastPosition
/// ```
public protocol FlushLedger: Sendable {
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

    /// Flush cursor, unflushed count and pruned position, without ``HotMaintenance/status()``'s whole-table
    /// counts (what polls: readiness, metrics, `flush --watch`).
    func flushLag() async throws -> FlushLag
}
