/// Keeping the hot store small and rebuilding it: prune, subscriber checkpoints, status, restore.
///
/// ```swift
/// try await store.setCheckpoint("billing", position: 1_200)
/// let deleted = try await store.pruneEvents(upTo: 1_000)   // refuses to pass the cursor or a checkpoint
/// ```
public protocol HotMaintenance: Sendable {
    /// Head position, safe high-water mark, flush cursor, unflushed count, and the store's stream and event
    /// counts (which count whole tables).
    func status() async throws -> StoreStatus

    /// Stores a subscriber's position (the last event it has handled); prune never deletes above the
    /// lowest checkpoint.
    func setCheckpoint(_ name: String, position: Int64) async throws

    /// Every subscriber's checkpoint, ordered by name.
    func checkpoints() async throws -> [ConsumerCheckpoint]

    /// Deletes hot events with `position <= position`. Callers must have checked the archive first;
    /// implementations refuse to cross the flush cursor or the lowest consumer checkpoint
    /// (``StoreRules/checkPrune(upTo:flushCursor:lowestCheckpoint:)``). Stream heads and idempotency results
    /// survive.
    /// - Returns: the number of events deleted.
    func pruneEvents(upTo position: Int64) async throws -> Int

    /// The highest pruned position (0 if nothing was pruned).
    func prunedThrough() async throws -> Int64

    /// Deletes idempotency results older than the retention.
    func pruneIdempotencyKeys(olderThanSeconds: Double) async throws -> Int

    /// Inserts archived events with their original positions, versions, ids and times, updating stream
    /// heads and the position sequence. For `archiver restore` into an empty store; events must come in
    /// position order, in batches.
    /// - Throws: `.invalidInput` if a position or stream version is already taken.
    func restoreEvents(_ events: [RecordedEvent]) async throws

    /// Sets the flush cursor after a restore, so the next flush continues the archive the store came from.
    func restoreFlushCursor(_ cursor: FlushCursor) async throws
}
