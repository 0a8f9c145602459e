import Coordination
import Foundation

/// The PostgreSQL side of ``MigrationRunner``: `{{schema}}.archiver_migrations`, inside the migration
/// transaction (which holds the schema's advisory lock).
struct PostgresMigrationLedger: MigrationLedger {
    let db: PostgresConnection
    let schema: String

    var location: String { "the schema \(schema)" }

    func appliedMigrations() throws -> [AppliedMigration] {
        try db.execute("CREATE SCHEMA IF NOT EXISTS \(schema)")
        try db.execute(
            "CREATE TABLE IF NOT EXISTS \(schema).archiver_migrations (version integer PRIMARY KEY, "
                + "name text NOT NULL, checksum text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())")
        let rows = try db.query("SELECT version, name, checksum FROM \(schema).archiver_migrations ORDER BY version")
        return (0..<rows.count).map {
            AppliedMigration(version: Int(rows.int64($0, 0)), name: rows.string($0, 1), checksum: rows.string($0, 2))
        }
    }

    func apply(_ migration: EmbeddedMigration, checksum: String) throws {
        try db.execute(migration.sql.replacingOccurrences(of: "{{schema}}", with: schema))
        try db.query(
            "INSERT INTO \(schema).archiver_migrations (version, name, checksum) VALUES ($1, $2, $3)",
            [String(migration.version), migration.name, checksum])
    }
}
