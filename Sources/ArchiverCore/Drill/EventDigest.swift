import ArchiveFormat
import Coordination
@preconcurrency import Crypto

/// SHA-256 over events in a canonical form: each event's archive record body (the line before its hash, which
/// fixes member order and number and time formats) and a newline.
struct EventDigest {
    private var hasher = SHA256()
    private var buffer: [UInt8] = []
    private(set) var count: Int64 = 0

    mutating func add(_ event: RecordedEvent) {
        buffer.removeAll(keepingCapacity: true)
        RecordEncoder.appendBody(
            position: event.position, stream: event.stream, version: event.version, id: event.id, type: event.type,
            recordedAtNanos: event.recordedAtNanos, data: event.data, metadata: event.metadata, into: &buffer)
        buffer.append(0x0A)
        hasher.update(data: buffer)
        count += 1
    }

    func finalize() -> String {
        HexCoding.encode(hasher.finalize())
    }

    /// SHA-256 over projected rows, one JSON text and a newline each.
    static func rows(_ rows: [ProjectedRow]) -> String {
        var hasher = SHA256()
        for row in rows {
            hasher.update(data: Array(row.json.utf8))
            hasher.update(data: [0x0A])
        }
        return HexCoding.encode(hasher.finalize())
    }
}
