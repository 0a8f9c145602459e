public import Coordination
import Foundation

// FlushLedger: the flush cursor and the intent a flush records before writing the archive.
extension PostgresCoordinationStore {
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
}
