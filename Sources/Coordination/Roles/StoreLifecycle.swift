/// Opening concerns of a store: its schema migrations and closing its connections.
///
/// ```swift
/// let store = try await SQLiteCoordinationStore(path: "archiver.db")
/// try await store.migrate()
/// defer { Task { await store.close() } }
/// ```
public protocol StoreLifecycle: Sendable {
    /// Applies the embedded migrations in order; a no-op when they are all applied (``MigrationRunner``).
    /// - Throws: `CoordinationError` `.migrationMismatch` when the database carries an unknown or altered migration.
    @discardableResult
    func migrate() async throws -> [MigrationRecord]

    /// Closes connections. Further calls fail with `.closed`.
    func close() async
}
