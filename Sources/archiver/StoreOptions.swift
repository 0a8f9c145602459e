import ArchiverConfiguration
import ArgumentParser
import Coordination
import CoordinationPostgres
import CoordinationSQLite
import Foundation

/// `--store`: which coordination store to use. Shared by every command that touches the hot side.
struct StoreOptions: ParsableArguments {
    @Option(help: ConfigKeys.store.help(valueName: "store"))
    var store: String?

    @Option(name: .customLong("sqlite-synchronous"), help: ConfigKeys.sqliteSynchronous.help(valueName: "mode"))
    var sqliteSynchronousFlag: String?

    /// The SQLite durability after applying the environment, the file and the default.
    var sqliteSynchronous: String { CLIConfig.text(ConfigKeys.sqliteSynchronous, flag: sqliteSynchronousFlag) }

    @Option(help: ConfigKeys.schema.help(valueName: "name"))
    var schema: String?

    /// The PostgreSQL schema after applying the environment, the file and the default.
    var schemaName: String { CLIConfig.text(ConfigKeys.schema, flag: schema) }

    /// The location after applying the environment, the file and the default.
    var location: String { CLIConfig.text(ConfigKeys.store, flag: store) }

    /// The location for messages: a PostgreSQL URL without its password, plus the schema.
    var displayLocation: String {
        let location = self.location
        guard location.hasPrefix("postgres://") || location.hasPrefix("postgresql://") else { return location }
        return Self.redacted(location) + " (schema \(schemaName))"
    }

    /// Opens the store; with `create` false a missing SQLite file is an error that says to run `archiver init`.
    /// - Parameter groupCommit: how concurrent appends share commits (``AppendGroupOptions``; commands that do
    ///   not append keep the default).
    func openStore(
        create: Bool = false, groupCommit: GroupCommit = GroupCommit()
    ) async throws -> any CoordinationStore {
        let location = self.location
        if location.hasPrefix("postgres://") || location.hasPrefix("postgresql://") {
            let store: PostgresCoordinationStore
            var options = PostgresCoordinationStore.Options()
            options.groupCommit = groupCommit
            do {
                store = try await PostgresCoordinationStore(url: location, schema: schemaName, options: options)
            } catch let error as CoordinationError {
                // libpq's messages carry no password, but keep the URL redacted in anything added here too.
                throw CoordinationError(
                    error.code, error.message.replacingOccurrences(of: location, with: Self.redacted(location)))
            }
            if !create {
                guard try await store.isInitialised() else {
                    await store.close()
                    throw ValidationError(
                        "no coordination store in schema \(schemaName) at \(Self.redacted(location)): run "
                            + "`archiver init` first (or pass --store / --schema)")
                }
                // Refuse a schema with unknown or altered migrations before doing anything else.
                try await store.migrate()
            }
            return store
        }
        let path = location.hasPrefix("sqlite:") ? String(location.dropFirst("sqlite:".count)) : location
        guard !path.isEmpty else { throw ValidationError("--store sqlite: needs a path, e.g. sqlite:./archiver.db") }
        if !create && !FileManager.default.fileExists(atPath: path) {
            throw ValidationError("no coordination store at \(path): run `archiver init` first (or pass --store)")
        }
        var options = SQLiteCoordinationStore.Options()
        guard let synchronous = SQLiteCoordinationStore.Synchronous(rawValue: sqliteSynchronous.uppercased()) else {
            throw ValidationError("--sqlite-synchronous must be full or normal")
        }
        options.synchronous = synchronous
        options.groupCommit = groupCommit
        let store = try await SQLiteCoordinationStore(path: path, options: options)
        if !create {
            // Refuse a database with unknown or altered migrations before doing anything else.
            try await store.migrate()
        }
        return store
    }

    /// Opens the store, runs `body` with it and closes it, also when `body` throws.
    func withStore<T>(
        create: Bool = false, groupCommit: GroupCommit = GroupCommit(),
        _ body: (any CoordinationStore) async throws -> T
    ) async throws -> T {
        let store = try await openStore(create: create, groupCommit: groupCommit)
        do {
            let result = try await body(store)
            await store.close()
            return result
        } catch {
            await store.close()
            throw error
        }
    }

    /// The URL without its password, for messages.
    static func redacted(_ original: String) -> String {
        Redaction.url(original)
    }
}
