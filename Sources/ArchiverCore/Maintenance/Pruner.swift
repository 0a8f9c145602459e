import ArchiveFormat
public import Coordination

/// Deletes hot events that are safely archived.
///
/// An event is pruned only when (1) it is in a committed snapshot at or before the cut, (2) that part of the
/// archive was just re-read and verified — object checksums, hash chain, manifest chain — and (3) no consumer
/// checkpoint is below it. Stream heads, expected versions and idempotency results are not touched.
public struct Pruner: Sendable {
    public let archive: Archive
    public let store: any CoordinationStore

    public init(archive: Archive, store: any CoordinationStore) {
        self.archive = archive
        self.store = store
    }

    public struct Summary: Sendable {
        public var deleted: Int
        public var prunedThrough: Int64
        public var verifiedEvents: Int64
        public var idempotencyKeysDeleted: Int
    }

    /// - Parameters:
    ///   - selector: prune events up to this cut point (a position or time is rounded down to the snapshot
    ///     that ends at or before it).
    ///   - idempotencyRetentionSeconds: also delete idempotency results older than this.
    ///   - drillGuard: when set, a passing restore drill covering the prune point must be recorded (``PruneGuard``).
    /// - Throws: ``ArchiverError`` `.pruneRefused` saying why nothing was deleted.
    public func run(
        before selector: CutSelector, idempotencyRetentionSeconds: Double? = nil, drillGuard: PruneGuard? = nil
    ) async throws -> Summary {
        let plan = try await archive.plan(to: selector)
        var cuts = try await plan.allCuts()
        if let max = plan.maxPosition { cuts = cuts.filter { $0.facts.lastPosition <= max } }
        if let max = plan.maxRecordedAt { cuts = cuts.filter { $0.facts.maxRecordedAtNanos <= max } }
        guard let last = cuts.last else {
            throw ArchiverError(.pruneRefused, "no committed snapshot ends at or before \(selector): nothing to prune")
        }
        let cursor = try await store.flushCursor()
        let target = last.facts.lastPosition
        guard target <= cursor.position else {
            throw ArchiverError(
                .pruneRefused,
                "the coordination store's flush cursor (\(cursor.position)) is behind the archive's position \(target): "
                    + "this store did not write this archive; check --store and --archive")
        }
        if let lowest = try await store.checkpoints().min(by: { $0.position < $1.position }), lowest.position < target {
            throw ArchiverError(
                .pruneRefused,
                "subscriber '\(lowest.name)' is at position \(lowest.position), below \(target): pruning would delete "
                    + "events it has not read; move its checkpoint or prune before an earlier cut")
        }
        if let drillGuard { try await drillGuard.check(archive: archive, target: target) }
        // Re-read and verify exactly what is about to become the only copy.
        let report = try await Verifier(archive: archive).run(to: .snapshot(last.snapshotID))
        let problems = report.problems.filter { $0.kind != .orphan }
        guard problems.isEmpty else {
            throw ArchiverError(
                .pruneRefused,
                "the archive up to snapshot \(last.snapshotID) does not verify, so no hot event was deleted: "
                    + problems[0].description + (problems.count > 1 ? " (and \(problems.count - 1) more)" : ""))
        }
        let already = try await store.prunedThrough()
        let deleted = target > already ? try await store.pruneEvents(upTo: target) : 0
        var keys = 0
        if let retention = idempotencyRetentionSeconds {
            keys = try await store.pruneIdempotencyKeys(olderThanSeconds: retention)
        }
        return Summary(
            deleted: deleted, prunedThrough: max(target, already), verifiedEvents: report.events,
            idempotencyKeysDeleted: keys)
    }
}
