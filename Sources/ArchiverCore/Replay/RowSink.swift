/// Where projected rows go: a JSON-lines file or stdout (``JSONLinesSink``), or a database table whose
/// writer the caller provides (the SQL adapters live in the store modules, which ArchiverCore does not import).
public protocol RowSink: Sendable {
    /// Writes all rows, replacing what the destination held, in one step where the destination allows.
    func write(_ rows: [ProjectedRow]) throws
    /// ``write(_:)-([ProjectedRow])`` for rows made as the sink takes them (default: all built first).
    func write(_ rows: RowStream) throws
}

extension RowSink {
    public func write(_ rows: RowStream) throws { try write(try rows.collect()) }
}

/// A row destination from its text form: `--output FILE` (or stdout), or `--into sqlite:PATH` / a bare path /
/// `postgres://…` with `--table NAME`.
///
/// ```swift
/// let spec = try RowSinkSpec(output: nil, into: "sqlite:model.db", table: "balances")
/// let sink = try spec.resolve(tables: TableSinks(sqlite: { path, table in MySQLiteSink(path, table) }))
/// try sink.write(rows)
/// ```
public enum RowSinkSpec: Sendable, Hashable {
    case standardOutput
    case jsonLinesFile(path: String)
    case sqliteTable(path: String, table: String)
    case postgresTable(url: String, table: String)

    /// - Throws: ``ArchiverError`` `.invalidArgument` for an `--into` that is neither sqlite:PATH, a path, nor a
    ///   PostgreSQL URL. `--into` wins over `--output`.
    public init(output: String?, into: String?, table: String) throws {
        guard let into else {
            self = output.map { .jsonLinesFile(path: $0) } ?? .standardOutput
            return
        }
        if into.hasPrefix("postgres://") || into.hasPrefix("postgresql://") {
            self = .postgresTable(url: into, table: table)
        } else if into.hasPrefix("sqlite:") {
            self = .sqliteTable(path: String(into.dropFirst("sqlite:".count)), table: table)
        } else if !into.contains("://") {
            self = .sqliteTable(path: into, table: table)
        } else {
            // Only the scheme: the rest of a URL may hold a password.
            let scheme = into.prefix { $0 != ":" }
            throw ArchiverError(
                .invalidArgument, "--into takes sqlite:PATH or a postgres:// URL, not a \(scheme):// URL")
        }
    }

    /// The sink for this destination; table destinations come from `tables`.
    /// - Throws: ``ArchiverError`` `.invalidArgument` when `tables` has no writer for the destination's kind.
    public func resolve(tables: TableSinks) throws -> any RowSink {
        switch self {
        case .standardOutput: return JSONLinesSink(path: nil)
        case .jsonLinesFile(let path): return JSONLinesSink(path: path)
        case .sqliteTable(let path, let table):
            guard let make = tables.sqlite else {
                throw ArchiverError(.invalidArgument, "rows cannot be written to SQLite tables here")
            }
            return make(path, table)
        case .postgresTable(let url, let table):
            guard let make = tables.postgres else {
                throw ArchiverError(.invalidArgument, "rows cannot be written to PostgreSQL tables here")
            }
            return make(url, table)
        }
    }
}

/// The table writers a caller wires in: each makes a sink for (path or URL, table name).
public struct TableSinks: Sendable {
    public var sqlite: (@Sendable (String, String) -> any RowSink)?
    public var postgres: (@Sendable (String, String) -> any RowSink)?

    public init(
        sqlite: (@Sendable (String, String) -> any RowSink)? = nil,
        postgres: (@Sendable (String, String) -> any RowSink)? = nil
    ) {
        self.sqlite = sqlite
        self.postgres = postgres
    }
}
