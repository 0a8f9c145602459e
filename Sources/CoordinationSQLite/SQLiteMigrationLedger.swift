import Coordination

/// The SQLite side of ``MigrationRunner``: the `archiver_migrations` table, on the store's connection
/// inside its migration transaction.
struct SQLiteMigrationLedger: MigrationLedger {
    let db: SQLiteConnection

    var location: String { "the database \(db.path)" }

    func appliedMigrations() throws -> [AppliedMigration] {
        try db.execute(
            "CREATE TABLE IF NOT EXISTS archiver_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, "
                + "checksum TEXT NOT NULL, applied_at INTEGER NOT NULL)")
        let select = try db.statement("SELECT version, name, checksum FROM archiver_migrations ORDER BY version")
        var applied: [AppliedMigration] = []
        while try select.step() {
            applied.append(
                AppliedMigration(version: Int(select.int64(0)), name: select.string(1), checksum: select.string(2)))
        }
        return applied
    }

    func apply(_ migration: EmbeddedMigration, checksum: String) throws {
        try db.execute(migration.sql)
        let insert = try db.statement(
            "INSERT INTO archiver_migrations (version, name, checksum, applied_at) VALUES (?, ?, ?, ?)")
        insert.bind(1, Int64(migration.version))
        insert.bind(2, migration.name)
        insert.bind(3, checksum)
        insert.bind(4, StoreRecords.nowMicros())
        try insert.step()
    }
}
