public import Coordination
import Foundation

// FlushLedger: the flush cursor and the intent a flush records before writing the archive.
extension SQLiteCoordinationStore {
    public func flushLag() async throws -> FlushLag {
        let db = try db()
        let cursor = try flushCursorRow(db)
        return FlushLag(
            flushCursor: cursor.position,
            unflushedCount: try count("SELECT count(*) FROM events WHERE position > ?", cursor.position, in: db),
            prunedThrough: try readState("pruned_through", db))
    }

    /// The single number `sql` selects (with `bind` as its parameter, if any).
    func count(_ sql: String, _ bind: Int64? = nil, in db: SQLiteConnection) throws -> Int64 {
        let statement = try db.statement(sql)
        defer { statement.reset() }
        if let bind { statement.bind(1, bind) }
        return try statement.step() ? statement.int64(0) : 0
    }

    // MARK: - Flusher bookkeeping

    func flushCursorRow(_ db: SQLiteConnection) throws -> FlushCursor {
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

    func intentRow(_ db: SQLiteConnection) throws -> FlushIntent? {
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
}
