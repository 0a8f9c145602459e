import ArchiveFormat
import RawJSON

/// The `replay --exec` line of an event (docs/REPLAY.md): the archived record's body without its hash, with
/// the data decrypted. Upcast views are written in this form (export's `upcast.jsonl`), and `--upcast-exec`
/// children read and print it.
enum RenderedEvent {
    /// The line of a record whose `data` is `data`: position, stream, version, id, type, recorded_at, data,
    /// metadata, in that order.
    static func line(_ event: ReplayEvent) -> [UInt8] {
        var out: [UInt8] = []
        RecordEncoder.appendBody(
            position: event.position, stream: event.stream, version: event.version, id: event.id, type: event.type,
            recordedAtNanos: event.recordedAtNanos, data: event.dataString, metadata: event.metadataString, into: &out)
        out.append(UInt8(ascii: "}"))
        return out
    }

    /// Encodes a rendered event as a record line (with a placeholder chain), so it can be handed on as a
    /// ``ReplayEvent``.
    /// - Throws: ``ArchiverError`` `.projectionFailed` naming `source` and the missing or malformed member.
    static func recordLine(
        _ bytes: UnsafeRawBufferPointer, into record: inout [UInt8], source: String
    ) throws -> RecordFields {
        func fail(_ what: String) -> ArchiverError {
            ArchiverError(.projectionFailed, "\(source) is not an event: \(what)")
        }
        var members: [String: UnsafeRawBufferPointer] = [:]
        do {
            var scanner = try ObjectScanner(bytes)
            while let member = try scanner.next() { members[try scanner.keyString(member)] = scanner.value(member) }
        } catch {
            throw fail("\(error)")
        }
        func string(_ key: String) throws -> String {
            guard let raw = members[key], let text = try? RawJSON.decodeString(raw) else { throw fail("no string \"\(key)\"") }
            return text
        }
        func integer(_ key: String) throws -> Int64 {
            guard let raw = members[key], let n = RawJSON.parseInt64(raw) else { throw fail("no whole number \"\(key)\"") }
            return n
        }
        guard let recordedAt = ArchiveTime.parseRFC3339(try string("recorded_at")) else {
            throw fail("\"recorded_at\" is not an RFC 3339 time")
        }
        guard let data = members["data"] else { throw fail("no \"data\"") }
        var encoder = RecordEncoder(chain: .genesis)
        encoder.encode(
            position: try integer("position"), stream: try string("stream"), version: try integer("version"),
            id: try string("id"), type: try string("type"), recordedAtNanos: recordedAt,
            data: String(decoding: data, as: UTF8.self),
            metadata: members["metadata"].map { String(decoding: $0, as: UTF8.self) } ?? "{}", into: &record)
        do {
            return try record.withUnsafeBytes { try RecordDecoder.decode($0) }
        } catch {
            throw fail("\(error)")
        }
    }
}
