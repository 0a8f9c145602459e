import ArchiveFormat
import RawJSON

/// The `replay --exec` line of an event (docs/REPLAY.md): `{"position":…,"stream":…,"version":…,"id":…,
/// "type":…,"recorded_at_ns":…,"recorded_at":…,"data":…,"metadata":…}` with the data decrypted. Upcast views are written in this
/// form (export's `upcast.jsonl`), and `--upcast-exec` children read and print it.
enum RenderedEvent {
    /// The end of a record line whose hash is not computed (events made by upcasters are not in the chain).
    static let placeholderHash =
        Array(#","hash":""#.utf8) + Array(repeating: UInt8(ascii: "0"), count: 64) + Array(#""}"#.utf8)

    /// Appends the line of `event` (without a newline): the one form `replay --exec` children, `--upcast-exec`
    /// children and export's upcast view all get. The record's string literals are valid JSON as they are:
    /// copied, not decoded and quoted again. The line is written through a pointer in one growth of `out` (no
    /// `String` interpolation): `--exec` renders every event, so this is its per-event cost.
    static func append(_ event: ReplayEvent, to out: inout [UInt8]) {
        let line = event.line
        let fields = event.fields
        let stream = UnsafeRawBufferPointer(rebasing: line[fields.stream])
        let id = UnsafeRawBufferPointer(rebasing: line[fields.id])
        let type = UnsafeRawBufferPointer(rebasing: line[fields.type])
        let data = event.data
        let metadata = event.metadata
        // Three integers of at most 20 bytes each, the time, the literal members and the copied values.
        let bound =
            Literal.total + 3 * 20 + ArchiveTime.rfc3339MicrosCount + stream.count + id.count + type.count
            + data.count + metadata.count
        RawJSON.appendWritten(to: &out, atMost: bound) { start in
            var p = start
            func put(_ bytes: UnsafeRawBufferPointer) {
                guard !bytes.isEmpty else { return }
                p.copyMemory(from: bytes.baseAddress!, byteCount: bytes.count)
                p += bytes.count
            }
            func put(_ literal: StaticString) {
                put(UnsafeRawBufferPointer(start: literal.utf8Start, count: literal.utf8CodeUnitCount))
            }
            put(Literal.position)
            p += RecordEncoder.writeInt(event.position, to: p)
            put(Literal.stream)
            put(stream)
            put(Literal.version)
            p += RecordEncoder.writeInt(event.version, to: p)
            put(Literal.id)
            put(id)
            put(Literal.type)
            put(type)
            put(Literal.recordedAtNanos)
            p += RecordEncoder.writeInt(event.recordedAtNanos, to: p)
            put(Literal.recordedAt)
            p += ArchiveTime.writeRFC3339Micros(event.recordedAtNanos, to: p)
            put(Literal.data)
            put(data)
            put(Literal.metadata)
            put(metadata)
            put(Literal.end)
            return p - start
        }
    }

    /// The literal parts of a rendered line, in order.
    private enum Literal {
        static let position: StaticString = #"{"position":"#
        static let stream: StaticString = #","stream":"#
        static let version: StaticString = #","version":"#
        static let id: StaticString = #","id":"#
        static let type: StaticString = #","type":"#
        static let recordedAtNanos: StaticString = #","recorded_at_ns":"#
        static let recordedAt: StaticString = #","recorded_at":""#
        static let data: StaticString = #"","data":"#
        static let metadata: StaticString = #","metadata":"#
        static let end: StaticString = "}"
        static let total = [position, stream, version, id, type, recordedAtNanos, recordedAt, data, metadata, end]
            .reduce(0) { $0 + $1.utf8CodeUnitCount }
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
            guard let raw = members[key], let text = try? RawJSON.decodeString(raw) else {
                throw fail("no string \"\(key)\"")
            }
            return text
        }
        func integer(_ key: String) throws -> Int64 {
            guard let raw = members[key], let n = RawJSON.parseInt64(raw) else {
                throw fail("no whole number \"\(key)\"")
            }
            return n
        }
        // `recorded_at_ns` is exact; `recorded_at` (microseconds) is what older children print.
        let nanos = members["recorded_at_ns"].flatMap { RawJSON.parseInt64($0) }
        guard let recordedAt = try nanos ?? ArchiveTime.parseRFC3339(try string("recorded_at")) else {
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

/// A projection that writes each event it is given as a rendered line: the upcast view of an export.
final class RenderedLinesWriter: Projection {
    let file: OutputFile
    private var line: [UInt8] = []
    private(set) var count: Int64 = 0

    init(file: OutputFile) {
        self.file = file
    }

    var identity: ProjectionIdentity { ProjectionIdentity(name: "rendered-lines", version: "1") }

    func apply(_ event: ReplayEvent) throws {
        line.removeAll(keepingCapacity: true)
        RenderedEvent.append(event, to: &line)
        line.append(0x0A)
        try file.write(line)
        count += 1
    }

    func rows() throws -> [ProjectedRow] { [] }

    func restore(rows: [ProjectedRow]) throws {}
}
