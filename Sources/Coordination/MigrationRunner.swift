/// One migration embedded in a store's module (`scripts/embed-migrations.sh`).
public struct EmbeddedMigration: Sendable {
    public var version: Int
    public var name: String
    /// The SQL template as in `migrations/<dialect>/`; its checksum is recorded.
    public var sql: String

    public init(version: Int, name: String, sql: String) {
        self.version = version
        self.name = name
        self.sql = sql
    }
}

/// A migration as the database records it.
public struct AppliedMigration: Sendable, Hashable {
    public var version: Int
    public var name: String
    public var checksum: String

    public init(version: Int, name: String, checksum: String) {
        self.version = version
        self.name = name
        self.checksum = checksum
    }
}

/// What a backend gives ``MigrationRunner``: its migrations table and a way to run one migration. Called
/// inside the backend's migration transaction (which also orders concurrent migrations).
public protocol MigrationLedger {
    /// Where the migrations live, for messages: "the database /var/lib/archiver.db", "the schema archiver".
    var location: String { get }
    /// Creates the migrations table if needed and returns what it records.
    func appliedMigrations() throws -> [AppliedMigration]
    /// Runs `migration`'s SQL and records it with `checksum`.
    func apply(_ migration: EmbeddedMigration, checksum: String) throws
}

/// Applies embedded migrations in order, once, for every backend: refuses a database that carries a
/// migration this build does not know (made by a newer archiver) or one whose checksum differs (altered by
/// hand).
///
/// ```swift
/// let records = try MigrationRunner.run(embeddedMigrations, on: ledger)
/// ```
public enum MigrationRunner {
    public static func run(
        _ migrations: [EmbeddedMigration], on ledger: some MigrationLedger
    ) throws -> [MigrationRecord] {
        let applied = Dictionary(
            try ledger.appliedMigrations().map { ($0.version, $0) }, uniquingKeysWith: { first, _ in first })
        try check(applied.values.sorted { $0.version < $1.version }, against: migrations, in: ledger.location)
        var records: [MigrationRecord] = []
        for migration in migrations {
            let checksum = StoreRecords.migrationChecksum(migration.sql)
            let isNew = applied[migration.version] == nil
            if isNew { try ledger.apply(migration, checksum: checksum) }
            records.append(
                MigrationRecord(
                    version: migration.version, name: migration.name, checksum: checksum, appliedNow: isNew))
        }
        return records
    }

    /// Every recorded migration must be one of `migrations`, unaltered.
    static func check(
        _ applied: [AppliedMigration], against migrations: [EmbeddedMigration], in location: String
    ) throws {
        let known = Dictionary(migrations.map { ($0.version, $0) }, uniquingKeysWith: { first, _ in first })
        for record in applied {
            guard let migration = known[record.version] else {
                throw CoordinationError(
                    .migrationMismatch,
                    "\(location) carries migration \(record.version) (\(record.name)), which this archiver does "
                        + "not know: it was created by a newer version; upgrade archiver")
            }
            guard StoreRecords.migrationChecksum(migration.sql) == record.checksum else {
                throw CoordinationError(
                    .migrationMismatch,
                    "migration \(record.version) (\(record.name)) in \(location) differs from this archiver's "
                        + "(checksum mismatch): the schema was altered by hand; restore the database or fix the "
                        + "migration")
            }
        }
    }
}
