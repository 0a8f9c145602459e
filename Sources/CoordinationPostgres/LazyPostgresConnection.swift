import Coordination

/// A PostgreSQL connection that is opened on first use, reconnected when lost, and refused once closed: the
/// connection of each actor that works on a connection and thread of its own (``PostgresEventReader``,
/// ``PostgresStateReader``, ``PostgresNotifier``). Not Sendable, like the connection it holds: the owning
/// actor keeps it in a stored property.
struct LazyPostgresConnection {
    private let url: String
    /// Run on each new connection before its first use.
    private let setUp: (PostgresConnection) throws -> Void
    private var connection: PostgresConnection?
    private(set) var isClosed = false

    init(url: String, setUp: @escaping (PostgresConnection) throws -> Void = { _ in }) {
        self.url = url
        self.setUp = setUp
    }

    /// The connection, opened now if there is none (`PQconnectdb`, then `setUp`), reset if it was lost
    /// (`PQreset`).
    /// - Throws: `.closed` after ``close()``; `.connectionFailed` when the server cannot be reached.
    mutating func open() throws -> PostgresConnection {
        if isClosed { throw StoreRules.closed() }
        if let connection {
            try connection.ensureConnected()
            return connection
        }
        let connection = try PostgresConnection(url: url)
        try setUp(connection)
        self.connection = connection
        return connection
    }

    /// Forgets the connection (it closes when no one uses it any more); the next ``open()`` connects anew.
    mutating func drop() {
        connection = nil
    }

    /// Forgets the connection for good: ``open()`` throws `.closed` from now on.
    mutating func close() {
        isClosed = true
        connection = nil
    }
}
