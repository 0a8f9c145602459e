public import Coordination
import Foundation

// HotMaintenance: status, checkpoints, pruning, and restoring a store from an archive.
extension SQLiteCoordinationStore {
    public func status() async throws -> StoreStatus {
        let db = try db()
        let head = try headPosition(db)
        let lag = try await flushLag()
        return StoreStatus(
            headPosition: head, safeHighWaterMark: head, flushCursor: lag.flushCursor,
            unflushedCount: lag.unflushedCount, streamCount: try count("SELECT count(*) FROM streams", in: db),
            eventCount: try count("SELECT count(*) FROM events", in: db), prunedThrough: lag.prunedThrough)
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
}
