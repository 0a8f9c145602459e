/// Events as a few flat arrays: their text columns (stream, id, type, data, metadata) as UTF-8 bytes one after
/// another, and their numbers. What a reader that encodes every event at once (the flusher) needs, without a
/// `String` per column: a store builds it straight from its rows.
///
/// ```swift
/// let page = try await store.readAllPacked(after: 0, limit: 1000)
/// page.withEvent(0) { event in print(event.position, event.stream.count) }
/// ```
public struct PackedEvents: Sendable {
    public private(set) var positions: [Int64] = []
    public private(set) var versions: [Int64] = []
    public private(set) var recordedAtNanos: [Int64] = []
    private var bytes: [UInt8] = []
    /// Event `i`'s columns end at `ends[5 * i ..< 5 * i + 5]` in `bytes`.
    private var ends: [Int] = []

    public init() {}

    public init(_ events: [RecordedEvent]) {
        reserve(events.count, bytes: events.count * 256)
        for event in events {
            positions.append(event.position)
            versions.append(event.version)
            recordedAtNanos.append(event.recordedAtNanos)
            appendColumn(event.stream.utf8)
            appendColumn(event.id.utf8)
            appendColumn(event.type.utf8)
            appendColumn(event.data.utf8)
            appendColumn(event.metadata.utf8)
        }
    }

    public var count: Int { positions.count }
    public var isEmpty: Bool { positions.isEmpty }

    public mutating func reserve(_ count: Int, bytes byteCount: Int) {
        positions.reserveCapacity(count)
        versions.reserveCapacity(count)
        recordedAtNanos.reserveCapacity(count)
        ends.reserveCapacity(count * 5)
        bytes.reserveCapacity(byteCount)
    }

    public mutating func append(
        position: Int64, version: Int64, recordedAtNanos: Int64, stream: UnsafeRawBufferPointer,
        id: UnsafeRawBufferPointer, type: UnsafeRawBufferPointer, data: UnsafeRawBufferPointer,
        metadata: UnsafeRawBufferPointer
    ) {
        positions.append(position)
        versions.append(version)
        self.recordedAtNanos.append(recordedAtNanos)
        appendColumn(stream)
        appendColumn(id)
        appendColumn(type)
        appendColumn(data)
        appendColumn(metadata)
    }

    /// Appends one text column of the event being added (columns in ``Event`` order).
    @inline(__always)
    private mutating func appendColumn<C: Collection<UInt8>>(_ column: C) {
        bytes.append(contentsOf: column)
        ends.append(bytes.count)
    }

    /// One event's columns; the buffers are valid only during the call that receives them.
    public struct Event {
        public var position: Int64
        public var version: Int64
        public var recordedAtNanos: Int64
        public var stream: UnsafeRawBufferPointer
        public var id: UnsafeRawBufferPointer
        public var type: UnsafeRawBufferPointer
        public var data: UnsafeRawBufferPointer
        public var metadata: UnsafeRawBufferPointer
    }

    /// Calls `body` with each event in order.
    public func forEach(_ body: (Event) throws -> Void) rethrows {
        try bytes.withUnsafeBytes { raw in
            var start = 0
            for i in positions.indices {
                let e = 5 * i
                @inline(__always) func column(_ k: Int) -> UnsafeRawBufferPointer {
                    let from = k == 0 ? start : ends[e + k - 1]
                    return UnsafeRawBufferPointer(rebasing: raw[from..<ends[e + k]])
                }
                try body(
                    Event(
                        position: positions[i], version: versions[i], recordedAtNanos: recordedAtNanos[i],
                        stream: column(0), id: column(1), type: column(2), data: column(3), metadata: column(4)))
                start = ends[e + 4]
            }
        }
    }

    /// The events as ``RecordedEvent`` values.
    public func events() -> [RecordedEvent] {
        var out: [RecordedEvent] = []
        out.reserveCapacity(count)
        forEach { e in
            out.append(
                RecordedEvent(
                    position: e.position, stream: String(decoding: e.stream, as: UTF8.self), version: e.version,
                    id: String(decoding: e.id, as: UTF8.self), type: String(decoding: e.type, as: UTF8.self),
                    data: String(decoding: e.data, as: UTF8.self),
                    metadata: String(decoding: e.metadata, as: UTF8.self), recordedAtNanos: e.recordedAtNanos))
        }
        return out
    }
}
