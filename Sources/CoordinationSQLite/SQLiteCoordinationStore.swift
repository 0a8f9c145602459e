public import Coordination
import Crypto
import Foundation

/// The embedded coordination store on SQLite (WAL mode, one writer connection).
///
/// Positions are assigned inside the write transaction from a `head` counter, so commit order is position
/// order and the safe high-water mark is simply the head. Several processes may share the file: SQLite's
/// write lock serialises them (`BEGIN IMMEDIATE` + a busy timeout).
///
/// ```swift
/// let store = try await SQLiteCoordinationStore(path: "archiver.db")
/// try await store.migrate()
/// ```
public actor SQLiteCoordinationStore: CoordinationStore {
    public enum Synchronous: String, Sendable {
        /// fsync on every commit (default): an acknowledged append survives power loss.
        case full = "FULL"
        /// fsync at WAL checkpoints only: faster; a power loss may drop the last commits (never corrupts).
        case normal = "NORMAL"
    }

    public struct Options: Sendable {
        public var synchronous: Synchronous = .full
        public var busyTimeoutMilliseconds: Int32 = 10_000
        public var limits = AppendLimits()
        /// How concurrent appends through this store share commits (see ``GroupCommit``).
        public var groupCommit = GroupCommit()
        public init() {}
    }

    private let executor: StoreThreadExecutor
    public nonisolated var unownedExecutor: UnownedSerialExecutor { executor.asUnownedSerialExecutor() }
    public nonisolated var taskExecutor: (any TaskExecutor)? { executor }
    private var connection: SQLiteConnection?
    public let path: String
    public let options: Options
    /// Append calls waiting for a group commit.
    let groups: AppendGroups
    /// Waiters for new events in this process (`waitForEvents`).
    var waiters: [(position: Int64, continuation: CheckedContinuation<Void, Never>)] = []

    /// Opens (creating if needed) the database at `path`. Call ``migrate()`` before first use.
    public init(path: String, options: Options = Options()) async throws {
        self.path = path
        self.options = options
        self.executor = StoreThreadExecutor(name: "sqlite:\(path)")
        self.groups = AppendGroups(options.groupCommit)
        try await openConnection()
    }

    deinit { executor.shutdown() }

    private func openConnection() async throws {
        let connection = try SQLiteConnection(path: path)
        // The busy timeout first: switching to WAL needs a lock that another process may hold.
        try connection.execute(
            "PRAGMA busy_timeout=\(options.busyTimeoutMilliseconds); PRAGMA journal_mode=WAL; "
                + "PRAGMA synchronous=\(options.synchronous.rawValue); PRAGMA foreign_keys=OFF;")
        self.connection = connection
    }

    func db() throws -> SQLiteConnection {
        guard let connection else { throw StoreRules.closed() }
        return connection
    }

    /// Caps the database at `pages` pages (`PRAGMA max_page_count` on this connection): the next write that
    /// needs a page fails as a full disk would. For tests of the disk-full path.
    func limitPagesForTesting(_ pages: Int64) throws {
        try db().execute("PRAGMA max_page_count = \(pages)")
    }

    /// Starts counting this store's commits (SQLite's commit hook); ``commitsForTesting()`` reads the count.
    func countCommitsForTesting() throws {
        try db().countCommits()
    }

    func commitsForTesting() throws -> Int { try db().commits.value }

    /// The database's size in pages (`PRAGMA page_count`).
    func pageCountForTesting() throws -> Int64 {
        let select = try db().statement("PRAGMA page_count")
        defer { select.reset() }
        return try select.step() ? select.int64(0) : 0
    }

    public func close() async {
        connection = nil
        for waiter in waiters { waiter.continuation.resume() }
        waiters.removeAll()
    }

    // MARK: - Migrations

    @discardableResult
    public func migrate() async throws -> [MigrationRecord] {
        let db = try db()
        return try db.transaction {
            try MigrationRunner.run(
                embeddedMigrations.map { EmbeddedMigration(version: $0.version, name: $0.name, sql: $0.sql) },
                on: SQLiteMigrationLedger(db: db))
        }
    }
}
