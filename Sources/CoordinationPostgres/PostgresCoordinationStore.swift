public import Coordination
import Crypto
import Foundation

/// The coordination store on PostgreSQL (one schema per store; several processes may share it).
///
/// Appends run in the server-side function `{{schema}}.append` (one round trip). Positions come from a
/// sequence, so they commit out of order: ``readAll(after:limit:)`` only returns events up to the
/// ``safeHighWaterMark()``, below which no in-flight transaction can still commit (see
/// `docs/COORDINATION.md`).
///
/// ```swift
/// let store = try await PostgresCoordinationStore(url: "postgres://archiver@db/app", options: .init())
/// try await store.migrate()
/// ```
public actor PostgresCoordinationStore: CoordinationStore {
    public struct Options: Sendable {
        public var limits = AppendLimits()
        /// How long ``safeHighWaterMark()`` waits for in-flight transactions before returning the last safe
        /// value it knows.
        public var highWaterMarkWaitSeconds: Double = 2
        /// How often a transaction that failed with a serialization failure or deadlock is run again.
        public var maxRetries = 8
        /// How often ``waitForEvents(after:timeoutSeconds:)`` looks for events that arrived without a
        /// notification (written by something other than an archiver store); appends through a store wake
        /// waiters at once.
        public var waitPollSeconds: Double = 0.5
        /// The shortest time between two `NOTIFY`s that announce this store's appends to other processes'
        /// waiters (the first append after a quiet spell is announced at once; see ``PostgresNotifier``).
        public var notifyIntervalSeconds: Double = 0.025
        /// How concurrent appends through this store share commits (see ``GroupCommit``).
        public var groupCommit = GroupCommit()
        public init() {}
    }

    private let executor: StoreThreadExecutor
    public nonisolated var unownedExecutor: UnownedSerialExecutor { executor.asUnownedSerialExecutor() }
    public nonisolated var taskExecutor: (any TaskExecutor)? { executor }
    private var connection: PostgresConnection?
    /// Waits on a connection of its own (see ``waitForEvents(after:timeoutSeconds:)``).
    let waiter: PostgresEventWaiter
    /// Append calls waiting for a group commit.
    let groups: AppendGroups
    /// Announces appends to other processes' waiters, off the append path.
    let notifier: PostgresNotifier
    /// Reads pages of events on a connection of its own, beside appends.
    let reader: PostgresEventReader
    private let url: String
    public let schema: String
    public let options: Options
    /// Runs status, stream-head, cursor and safe-mark reads on a connection of its own, beside appends.
    let state: PostgresStateReader

    /// Connects to the database at `url` (`postgres://` or `postgresql://`, libpq parameters such as
    /// `sslmode` included). Call ``migrate()`` before first use.
    /// - Parameters:
    ///   - schema: the schema holding the store's tables (`^[a-z_][a-z0-9_]{0,62}$`), created by `migrate()`.
    /// - Throws: `.invalidInput` for a bad schema name, `.connectionFailed` (without the password).
    public init(url: String, schema: String = "archiver", options: Options = Options()) async throws {
        guard Self.isValidSchemaName(schema) else {
            throw CoordinationError(
                .invalidInput,
                "schema name '\(schema.prefix(70))' is invalid: use 1 to 63 lowercase letters, digits and "
                    + "underscores, not starting with a digit")
        }
        self.url = url
        self.schema = schema
        self.options = options
        self.executor = StoreThreadExecutor(name: "postgres:\(schema)")
        self.waiter = PostgresEventWaiter(url: url, schema: schema, pollSeconds: options.waitPollSeconds)
        self.reader = PostgresEventReader(url: url, schema: schema)
        self.state = PostgresStateReader(url: url, schema: schema)
        self.groups = AppendGroups(options.groupCommit)
        self.notifier = PostgresNotifier(
            url: url, schema: schema, intervalSeconds: options.notifyIntervalSeconds)
        try await openConnection()
    }

    deinit { executor.shutdown() }

    private func openConnection() async throws {
        connection = try PostgresConnection(url: url)
    }

    static func isValidSchemaName(_ name: String) -> Bool {
        let bytes = Array(name.utf8)
        guard (1...63).contains(bytes.count) else { return false }
        for (index, byte) in bytes.enumerated() {
            let lower = (97...122).contains(byte) || byte == UInt8(ascii: "_")
            guard lower || (index > 0 && (48...57).contains(byte)) else { return false }
        }
        return true
    }

    func db() throws -> PostgresConnection {
        guard let connection else { throw StoreRules.closed() }
        try connection.ensureConnected()
        return connection
    }

    public func close() async {
        connection = nil
        await waiter.close()
        await reader.close()
        await state.close()
        await notifier.close()
    }

    /// The connection, for tests that need a second session in the same database.
    func rawConnection() throws -> PostgresConnection { try db() }

    // MARK: - Errors and transactions

    /// Maps a server error to the store's error type; `context` says what was being done.
    nonisolated func mapped(_ error: any Error, _ context: String) -> any Error {
        guard let error = error as? PostgresServerError else { return error }
        switch error.sqlstate {
        case "23505":
            return CoordinationError(.invalidInput, "\(context): a unique value is already taken (\(error.message))")
        case let state where state.hasPrefix("22") || state.hasPrefix("23"):
            return CoordinationError(.invalidInput, "\(context): the database refused a value (\(error.message))")
        case "3F000", "42P01", "42883":
            return CoordinationError(
                .queryFailed,
                "\(context): the schema '\(schema)' is not initialised (\(error.message)): run `archiver init` first")
        case "53100":
            return StoreFailures.diskFull("\(context): PostgreSQL", detail: error.message)
        case let state where state.hasPrefix("53"):
            return StoreFailures.resourcesExhausted("\(context): PostgreSQL", detail: "\(state): \(error.message)")
        case "42501":
            return StoreFailures.permissionDenied("\(context): PostgreSQL in schema '\(schema)'", detail: error.message)
        case "57014", "55P03":
            return CoordinationError(.busy, "\(context): PostgreSQL gave up waiting (\(error.message)); retry")
        case let state where state.hasPrefix("08") || state.hasPrefix("57P"):
            return CoordinationError(.connectionFailed, "\(context): PostgreSQL connection failed (\(error.message))")
        default:
            return CoordinationError(
                .queryFailed, "\(context): PostgreSQL error \(error.sqlstate): \(error.message.prefix(300))")
        }
    }

    /// Runs `body` in a transaction, again on serialization failures and deadlocks; maps other errors.
    func transaction<T>(_ context: String, _ body: (PostgresConnection) throws -> T) async throws -> T {
        try await autocommit(context) { db in try db.transaction { try body(db) } }
    }

    /// `body` (one statement, or a whole transaction) again on serialization failures and deadlocks; maps
    /// other errors. The pause between attempts is a `Task.sleep`: the store's thread serves other calls
    /// meanwhile instead of sleeping.
    func autocommit<T>(_ context: String, _ body: (PostgresConnection) throws -> T) async throws -> T {
        var attempt = 0
        while true {
            do {
                return try body(try db())
            } catch let error as PostgresServerError where error.isRetryable && attempt < options.maxRetries {
                attempt += 1
                try await Task.sleep(for: .microseconds(Int.random(in: 1_000...5_000) * attempt))
            } catch {
                throw mapped(error, context)
            }
        }
    }

    /// One statement outside a transaction, with errors mapped.
    @discardableResult
    func run(
        _ context: String, _ sql: String, _ parameters: [String?] = [], prepared: Bool = false
    ) throws -> PostgresRows {
        do {
            return prepared ? try db().prepared(sql, parameters) : try db().query(sql, parameters)
        } catch {
            throw mapped(error, context)
        }
    }

    /// Whether ``migrate()`` has run in this schema (the CLI refuses to create a store implicitly).
    public func isInitialised() async throws -> Bool {
        let rows = try run(
            "look for the store", "SELECT to_regclass($1) IS NOT NULL", [schema + ".archiver_migrations"])
        return rows.bool(0, 0)
    }

    // MARK: - Migrations

    @discardableResult
    public func migrate() async throws -> [MigrationRecord] {
        let schema = self.schema
        return try await transaction("migrate") { db in
            // Concurrent migrations of the same schema take turns.
            try db.query("SELECT pg_advisory_xact_lock(hashtext($1))", ["lode-archiver:" + schema])
            return try MigrationRunner.run(
                embeddedMigrations.map { EmbeddedMigration(version: $0.version, name: $0.name, sql: $0.sql) },
                on: PostgresMigrationLedger(db: db, schema: schema))
        }
    }
}
