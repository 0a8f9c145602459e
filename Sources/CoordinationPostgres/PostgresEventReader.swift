import Coordination
import Foundation

/// Reads pages of events on a PostgreSQL connection and thread of its own, so that a large read (the
/// flusher's pages, a subscriber catching up) and appends never queue behind each other. The store decides
/// what may be read (the safe high-water mark, pruned ranges) on its own connection; this reads it.
///
/// The flusher's read-ahead lives here too: after a full page, the next page's query is sent before the
/// page is returned, and the next ``page(after:bound:limit:)`` for it collects the answer.
actor PostgresEventReader {
    private let executor: StoreThreadExecutor
    nonisolated var unownedExecutor: UnownedSerialExecutor { executor.asUnownedSerialExecutor() }
    private let schema: String
    private var connection: LazyPostgresConnection

    static let eventColumns = "position, stream, version, id, type, data, metadata, recorded_at"

    init(url: String, schema: String) {
        self.connection = LazyPostgresConnection(url: url, setUp: Self.setUp)
        self.schema = schema
        self.executor = StoreThreadExecutor(name: "postgres-read:\(schema)")
    }

    deinit { executor.shutdown() }

    func close() {
        connection.close()
    }

    /// The connection, opened on first use and reconnected when lost.
    private func db() throws -> PostgresConnection { try connection.open() }

    static func setUp(_ connection: PostgresConnection) throws {
        try widenReceiveBuffer(connection)
        try preferOrderedIndexScans(connection)
    }

    /// Every read here wants rows in index order and stops at a LIMIT. Without statistics (a table never
    /// analysed: a new store, or a bulk import that autovacuum has not reached yet) the planner guesses that a
    /// range holds a few hundred rows and picks a bitmap scan that fetches and sorts the whole range, the rest
    /// of the table, for each page: 220 ms instead of 2.5 ms for a page of 5,000 of 60,000 nested events, and a
    /// flush quadratic in its backlog. Without bitmap scans it reads the primary key in order and stops.
    static func preferOrderedIndexScans(_ connection: PostgresConnection) throws {
        try connection.execute("SET enable_bitmapscan = off")
    }

    /// Bytes of the one value read when the connection opens; see ``widenReceiveBuffer(_:)``.
    static let receiveBufferBytes = 256 << 10

    /// Reads one large value, so that libpq's receive buffer grows (it starts at 16 KiB, doubles to fit the
    /// largest message met and never shrinks): a page of events then arrives in `recv` calls of up to about
    /// 512 KiB instead of 16 KiB, a thirtieth of the system calls and wake-ups. It costs one round trip per
    /// connection.
    static func widenReceiveBuffer(_ connection: PostgresConnection) throws {
        try connection.query("SELECT repeat(' ', $1::int)", [String(receiveBufferBytes)])
    }

    nonisolated var readAllSQL: String {
        "SELECT \(Self.eventColumns) FROM \(schema).events WHERE position > $1 AND position <= $2 "
            + "ORDER BY position LIMIT $3"
    }

    /// Events of one stream from `version`, and the stream's current version (one snapshot each).
    func stream(_ stream: String, from version: Int64, limit: Int) throws -> (events: [RecordedEvent], head: Int64) {
        let db = try db()
        let rows = try db.prepared(
            "SELECT \(Self.eventColumns) FROM \(schema).events WHERE stream = $1 AND version >= $2 "
                + "ORDER BY version LIMIT $3", [stream, String(version), String(limit)])
        let head = try db.prepared("SELECT version FROM \(schema).streams WHERE stream = $1", [stream])
        return (Self.events(rows), head.isEmpty ? 0 : head.int64(0, 0))
    }

    /// Events with `after < position <= bound`, in position order.
    func events(after position: Int64, bound: Int64, limit: Int) throws -> [RecordedEvent] {
        Self.events(try db().prepared(readAllSQL, [String(position), String(bound), String(limit)]))
    }

    /// The page sent ahead after the previous full page, when it is the one asked for.
    func readAhead(after position: Int64, limit: Int) throws -> PackedEvents? {
        let (after, count) = (String(position), String(limit))
        return try db().takeReadAhead(
            readAllSQL, matching: { $0[0] == after && $0[2] == count },
            read: { rows, parameters in try packPage(rows, bound: parameters[1] ?? "0", limit: limit) })
    }

    /// Events with `after < position <= bound` as ``PackedEvents``.
    func page(after position: Int64, bound: Int64, limit: Int) throws -> PackedEvents {
        try db().prepared(readAllSQL, [String(position), String(bound), String(limit)]) { rows in
            try packPage(rows, bound: String(bound), limit: limit)
        }
    }

    /// Packs a page of `readAllSQL`'s rows (binary format). When the page is full, the read of the next one
    /// (after its last position, below the same `bound`) is sent first: the server produces it while this one
    /// is packed, returned and encoded.
    private func packPage(_ rows: PostgresResult, bound: String, limit: Int) throws -> PackedEvents {
        if rows.count == limit, limit > 0 {
            let last = String(rows.binaryInt64(rows.count - 1, 0))
            try db().sendReadAhead(readAllSQL, [last, bound, String(limit)])
        }
        // Reserved exactly (the text columns' lengths and each UUID's 36 characters): a guess grows the buffer
        // by copies, and a page of large events is megabytes.
        var bytes = 0
        for row in 0..<rows.count {
            bytes +=
                36 + rows.bytes(row, 1).count + rows.bytes(row, 4).count + rows.bytes(row, 5).count
                + rows.bytes(row, 6).count
        }
        var packed = PackedEvents()
        packed.reserve(rows.count, bytes: bytes)
        for row in 0..<rows.count {
            rows.uuid(row, 3) { id in
                packed.append(
                    position: rows.binaryInt64(row, 0), version: rows.binaryInt64(row, 2),
                    recordedAtNanos: rows.binaryInt64(row, 7) * 1000, stream: rows.bytes(row, 1), id: id,
                    type: rows.bytes(row, 4), data: rows.bytes(row, 5), metadata: rows.bytes(row, 6))
            }
        }
        return packed
    }

    static func events(_ rows: PostgresRows) -> [RecordedEvent] {
        (0..<rows.count).map { row in
            RecordedEvent(
                position: rows.int64(row, 0), stream: rows.string(row, 1), version: rows.int64(row, 2),
                id: rows.string(row, 3), type: rows.string(row, 4), data: rows.string(row, 5),
                metadata: rows.string(row, 6), recordedAtNanos: rows.int64(row, 7) * 1000)
        }
    }
}
