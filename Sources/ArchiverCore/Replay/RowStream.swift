/// A projection's rows handed out one at a time, sorted by key, so that a sink writes them as they are made
/// instead of all of them being built first (for a million streams, the built rows were the largest part of a
/// replay's memory).
///
/// The JSON bytes a row is handed with are valid only during that call.
///
/// ```swift
/// try fold.rowStream.forEach { key, json in print(key, String(decoding: json, as: UTF8.self)) }
/// ```
public struct RowStream {
    private let produce: (_ body: (_ key: String, _ json: UnsafeRawBufferPointer) throws -> Void) throws -> Void

    /// Rows from `produce`, which calls its argument once per row, in key order.
    public init(
        _ produce: @escaping (_ body: (_ key: String, _ json: UnsafeRawBufferPointer) throws -> Void) throws -> Void
    ) {
        self.produce = produce
    }

    /// Rows already built.
    public init(_ rows: [ProjectedRow]) {
        self.produce = { body in
            for row in rows {
                var json = row.json
                try json.withUTF8 { try body(row.key, UnsafeRawBufferPointer($0)) }
            }
        }
    }

    /// Calls `body` with every row, in key order.
    public func forEach(_ body: (_ key: String, _ json: UnsafeRawBufferPointer) throws -> Void) throws {
        try produce(body)
    }

    /// Every row, built.
    public func collect() throws -> [ProjectedRow] {
        var rows: [ProjectedRow] = []
        try forEach { key, json in rows.append(ProjectedRow(key: key, json: String(decoding: json, as: UTF8.self))) }
        return rows
    }
}
