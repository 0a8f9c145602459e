public import Coordination
import Foundation

// HotMaintenance: status, checkpoints, pruning, and restoring a store from an archive.
extension PostgresCoordinationStore {
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
}
