import Coordination
import Foundation

/// Runs the store's small read-only queries (status, stream heads, the flush cursor, leases, the safe
/// high-water mark) on a PostgreSQL connection and thread of its own, so that they never queue behind an
/// append on the store's connection (a slow append must not delay `GET /ready` or `archiver status`), nor
/// behind a large page on ``PostgresEventReader``'s.
///
/// It also keeps the safe high-water mark's observations (see ``safeHighWaterMark(waitSeconds:)``).
actor PostgresStateReader {
    private let executor: StoreThreadExecutor
    nonisolated var unownedExecutor: UnownedSerialExecutor { executor.asUnownedSerialExecutor() }
    private let schema: String
    private var connection: LazyPostgresConnection
    /// The highest position known to be safe; never goes backwards.
    private var safeMark: Int64 = 0
    /// Sequence values observed, each with the next transaction id at the time: safe once every
    /// transaction below that id has finished.
    private var pendingMarks: [(position: Int64, nextXid: UInt64)] = []

    init(url: String, schema: String) {
        self.connection = LazyPostgresConnection(url: url)
        self.schema = schema
        self.executor = StoreThreadExecutor(name: "postgres-state:\(schema)")
    }

    deinit { executor.shutdown() }

    func close() {
        connection.close()
    }

    /// The connection, opened on first use and reconnected when lost.
    private func db() throws -> PostgresConnection { try connection.open() }

    /// One read-only statement; server errors are thrown unmapped (the store maps them).
    func rows(_ sql: String, _ parameters: [String?] = [], prepared: Bool = false) throws -> PostgresRows {
        prepared ? try db().prepared(sql, parameters) : try db().query(sql, parameters)
    }

    /// The sequence's last value: the highest position ever handed out (committed or not).
    func headPosition() throws -> Int64 {
        let rows = try rows("SELECT last_value, is_called FROM \(schema).positions_seq", prepared: true)
        return rows.bool(0, 1) ? rows.int64(0, 0) : 0
    }

    /// The highest position below which no in-flight transaction can still commit.
    ///
    /// Positions come from a sequence and commit out of order. The run of committed positions above the last
    /// safe mark is safe at once (``committedRun(through:)``); above a gap, transaction ids decide. Every
    /// transaction that takes a position first takes a transaction id (`pg_current_xact_id()` in the append
    /// function, before `nextval`).
    /// 1. Read the sequence → S. Every transaction holding a position ≤ S already has its xid.
    /// 2. In a later statement, read the next xid to be assigned → N (`age()` of the snapshot's xmax uses
    ///    `ReadNextTransactionId` without assigning one). Every such transaction's xid is < N.
    /// 3. S is safe once a later snapshot's xmin ≥ N: then no xid below N is still running.
    ///
    /// (A snapshot's xmax is *not* such a bound: it is one past the latest *completed* xid, and running
    /// xids above it are left out of the snapshot, so `xmin ≥ xmax(X)` can hold while one is running.)
    /// Observations wait in a small list; the largest S whose N has been passed is returned, never going
    /// backwards. When the newest is not ready this polls a few ms at a time, up to `waitSeconds` (0: one
    /// look), then returns the last safe value. Other reads of this actor run while it polls.
    func safeHighWaterMark(waitSeconds: Double) async throws -> Int64 {
        let observed = try headPosition()
        if observed <= safeMark { return safeMark }
        safeMark = max(safeMark, try committedRun(through: observed))
        pendingMarks.removeAll { $0.position <= safeMark }
        if safeMark >= observed { return safeMark }
        let next = try nextTransactionID()
        pendingMarks.append((observed, next))
        let deadline = ContinuousClock.now + .milliseconds(Int64(waitSeconds * 1000))
        var pause = 1
        while true {
            let xmin = try snapshotXmin()
            let ready = pendingMarks.filter { $0.nextXid <= xmin }
            if let best = ready.map(\.position).max() { safeMark = max(safeMark, best) }
            pendingMarks.removeAll { $0.nextXid <= xmin || $0.position <= safeMark }
            if safeMark >= observed || ContinuousClock.now >= deadline { return safeMark }
            try? await Task.sleep(for: .milliseconds(pause))
            pause = min(pause * 2, 10)
            if Task.isCancelled { return safeMark }
        }
    }

    /// The highest position up to which every position from the last known safe one is a visible (committed)
    /// event, at most `head`. Up to there none can still be in flight, so it is safe without waiting for
    /// transaction ids. A gap-free head is the common case, and this keeps a transaction open elsewhere on
    /// the server (it holds back every snapshot's xmin, in any database) from holding archiving back; only
    /// positions above a gap (an append in flight, or a rolled-back one) wait for transaction ids.
    ///
    /// Sound because `head` was read first: a position ≤ `head` whose row this later statement cannot see is
    /// uncommitted or rolled back, and breaks the run. Rows are deleted only by prune, at or below
    /// `pruned_through`, which is at most the flush cursor, and everything at or below the flush cursor was
    /// archived, so the run starts above the highest of the three marks.
    private func committedRun(through head: Int64) throws -> Int64 {
        let rows = try rows(
            "SELECT b.lo, count(e.position), coalesce(min(e.n) FILTER (WHERE e.position <> b.lo + e.n), 0) "
                + "FROM (SELECT greatest($1::bigint, (SELECT position FROM \(schema).flush_cursor WHERE id = 1), "
                + "(SELECT value FROM \(schema).state WHERE name = 'pruned_through')) AS lo) b "
                + "LEFT JOIN LATERAL (SELECT position, row_number() OVER (ORDER BY position) AS n "
                + "FROM \(schema).events WHERE position > b.lo AND position <= $2::bigint) e ON true GROUP BY b.lo",
            [String(safeMark), String(head)], prepared: true)
        let low = rows.int64(0, 0)
        let firstMissing = rows.int64(0, 2)
        // Positions lo+1 … lo+n−1 are present when the n-th row is the first out of place; all rows are in
        // place otherwise, and the run ends at the last of them.
        return min(head, firstMissing > 0 ? low + firstMissing - 1 : low + rows.int64(0, 1))
    }

    /// The next transaction id to be assigned (an upper bound on every xid assigned so far), as a full xid8.
    private func nextTransactionID() throws -> UInt64 {
        let rows = try rows(
            "SELECT x::text, age(((x::text::numeric % 4294967296)::text)::xid) "
                + "FROM (SELECT pg_snapshot_xmax(pg_current_snapshot()) AS x) s", prepared: true)
        let xmax = UInt64(rows.string(0, 0)) ?? 0
        let age = rows.int64(0, 1)
        // age() is INT_MAX for the special xids below 3; then use a bound that forces a later re-check.
        guard age >= 0, age < Int64(Int32.max) else { return xmax + (1 << 31) }
        return xmax + UInt64(age)
    }

    private func snapshotXmin() throws -> UInt64 {
        let rows = try rows("SELECT pg_snapshot_xmin(pg_current_snapshot())::text", prepared: true)
        return UInt64(rows.string(0, 0)) ?? 0
    }
}
