import RawJSON
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Where the members of one record line are, as byte ranges into the line.
///
/// Offsets are stored as 32-bit values (lines are shorter than 2 GiB: ``RecordDecoder`` refuses longer ones), so
/// that the value a reader copies per record stays small.
public struct RecordFields: Sendable, Hashable {
    public let position: Int64
    public let version: Int64
    public let recordedAtNanos: Int64
    /// ``StreamHash/fnv1a64(_:)`` of the stream's name, computed while decoding (on the decoding cores), so
    /// that per-stream state can be looked up without making a `String` per record.
    public let streamHash: UInt64
    private let offsets: Offsets

    private struct Offsets: Sendable, Hashable {
        var stream: (UInt32, UInt32)
        var id: (UInt32, UInt32)
        var type: (UInt32, UInt32)
        var data: (UInt32, UInt32)
        var metadata: (UInt32, UInt32)
        var hash: (UInt32, UInt32)
        var bodyEnd: UInt32

        static func == (a: Offsets, b: Offsets) -> Bool {
            a.stream == b.stream && a.id == b.id && a.type == b.type && a.data == b.data && a.metadata == b.metadata
                && a.hash == b.hash && a.bodyEnd == b.bodyEnd
        }

        func hash(into hasher: inout Hasher) {
            for (lower, upper) in [stream, id, type, data, metadata, hash] {
                hasher.combine(lower)
                hasher.combine(upper)
            }
            hasher.combine(bodyEnd)
        }
    }

    /// Ranges of the JSON string values, quotes included.
    public var stream: Range<Int> { Self.range(offsets.stream) }
    public var id: Range<Int> { Self.range(offsets.id) }
    public var type: Range<Int> { Self.range(offsets.type) }
    /// The exact bytes of the `data` and `metadata` values.
    public var data: Range<Int> { Self.range(offsets.data) }
    public var metadata: Range<Int> { Self.range(offsets.metadata) }
    /// End of the hashed body: the offset of `,"hash":"`.
    public var bodyEnd: Int { Int(offsets.bodyEnd) }
    /// The 64 hex digits of the record's hash; empty in a format 2 record, which stores none.
    public var hash: Range<Int> { Self.range(offsets.hash) }
    /// True for a format 1 record (it ends with its chain hash).
    public var hasHash: Bool { offsets.hash.0 != offsets.hash.1 }
    /// The record format the line is written in.
    public var format: RecordFormat { hasHash ? .v1 : .v2 }

    /// - Precondition: every offset is below 2^32 (the decoder refuses lines of 2 GiB or more).
    init(
        position: Int64, version: Int64, recordedAtNanos: Int64, stream: Range<Int>, streamHash: UInt64,
        id: Range<Int>, type: Range<Int>, data: Range<Int>, metadata: Range<Int>, bodyEnd: Int, hash: Range<Int>
    ) {
        self.position = position
        self.version = version
        self.recordedAtNanos = recordedAtNanos
        self.streamHash = streamHash
        offsets = Offsets(
            stream: Self.pair(stream), id: Self.pair(id), type: Self.pair(type), data: Self.pair(data),
            metadata: Self.pair(metadata), hash: Self.pair(hash), bodyEnd: UInt32(truncatingIfNeeded: bodyEnd))
    }

    @inline(__always)
    private static func pair(_ range: Range<Int>) -> (UInt32, UInt32) {
        (UInt32(truncatingIfNeeded: range.lowerBound), UInt32(truncatingIfNeeded: range.upperBound))
    }

    @inline(__always)
    private static func range(_ pair: (UInt32, UInt32)) -> Range<Int> {
        Range(uncheckedBounds: (Int(pair.0), Int(pair.1)))
    }
}

/// Reads record lines of format 1 and 2 (docs/FORMAT.md): the members must appear in the documented order; a
/// format 2 line ends after `metadata`.
public enum RecordDecoder {
    static let memberNames = [
        "position", "stream", "version", "id", "type", "recorded_at", "data", "metadata", "hash",
    ]

    /// Decodes the member ranges of one line (without its newline).
    /// - Throws: ``ArchiveFormatError`` `.badRecord` naming what is wrong and the byte offset.
    public static func decode(_ line: UnsafeRawBufferPointer) throws(ArchiveFormatError) -> RecordFields {
        guard line.count < Int(Int32.max) else {
            throw ArchiveFormatError(.badRecord, "record line of \(line.count) bytes is too long (the limit is 2 GiB)")
        }
        if let fields = decodeWritten(line) { return fields }
        return try decodeGeneric(line)
    }

    /// The fast path for lines exactly as ``RecordEncoder`` writes them: fixed member order, no whitespace.
    /// Returns nil at the first surprise, and ``decodeGeneric(_:)`` then says what is wrong.
    static func decodeWritten(_ line: UnsafeRawBufferPointer) -> RecordFields? {
        guard line.count > 60 else { return nil }
        // A v1 line ends with `,"hash":"<64 hex>"}`; a v2 line (no hash) ends with its metadata's closing
        // character and `}`. The bare quotes of `,"hash":"` cannot occur inside the metadata's last string.
        let suffix = hasHashSuffix(line) ? RecordLayout.hashSuffixLength : 1
        var i = 0
        @inline(__always) func expect(_ piece: StaticString) -> Bool {
            let n = piece.utf8CodeUnitCount
            guard i + n <= line.count else { return false }
            let text = piece.utf8Start
            for k in 0..<n where line[i &+ k] != text[k] { return false }
            i += n
            return true
        }
        @inline(__always) func integer() -> Int64? {
            let start = i
            var value: Int64 = 0
            while i < line.count, line[i] >= 48, line[i] <= 57, i - start < 18 {
                value = value * 10 + Int64(line[i] - 48)
                i += 1
            }
            return i > start ? value : nil
        }
        @inline(__always) func string() -> Range<Int>? {
            let start = i
            guard line[i] == UInt8(ascii: "\"") else { return nil }
            guard let end = RawJSON.structuralEnd(of: line, from: i) else { return nil }
            i = end
            return start..<end
        }
        guard expect(#"{"position":"#), let position = integer(), expect(#","stream":"#), let stream = string(),
            expect(#","version":"#), let version = integer(), expect(#","id":"#), let id = string(),
            expect(#","type":"#), let type = string(), expect(#","recorded_at":""#)
        else { return nil }
        let timeStart = i
        guard let hit = memchr(line.baseAddress! + i, 0x22, line.count - i),
            case let quote = UnsafeRawPointer(hit) - line.baseAddress!,
            let recordedAt = ArchiveTime.parseRFC3339(bytes: UnsafeRawBufferPointer(rebasing: line[timeStart..<quote]))
        else { return nil }
        i = quote + 1
        guard expect(#","data":"#), let dataEnd = RawJSON.structuralEnd(of: line, from: i) else { return nil }
        let data = i..<dataEnd
        i = dataEnd
        let bodyEnd = line.count - suffix
        guard expect(#","metadata":"#), RawJSON.structuralEnd(of: line, from: i) == bodyEnd else { return nil }
        let metadata = i..<bodyEnd
        i = bodyEnd
        let hash: Range<Int>
        if suffix == 1 {
            guard line[bodyEnd] == UInt8(ascii: "}") else { return nil }
            hash = line.count..<line.count
        } else {
            guard expect(#","hash":""#), line[line.count - 2] == UInt8(ascii: "\""),
                line[line.count - 1] == UInt8(ascii: "}")
            else { return nil }
            hash = (bodyEnd + 9)..<(line.count - 2)
        }
        return RecordFields(
            position: position, version: version, recordedAtNanos: recordedAt, stream: stream,
            streamHash: StreamHash.fnv1a64(jsonString: UnsafeRawBufferPointer(rebasing: line[stream])), id: id,
            type: type, data: data, metadata: metadata, bodyEnd: bodyEnd, hash: hash)
    }

    /// True when the line ends like a v1 record: `,"hash":"` 66 bytes before a closing `"}`.
    @inline(__always)
    static func hasHashSuffix(_ line: UnsafeRawBufferPointer) -> Bool {
        let suffix = RecordLayout.hashSuffixLength
        guard line.count > suffix, line[line.count - 1] == UInt8(ascii: "}"), line[line.count - 2] == 0x22 else {
            return false
        }
        let piece = RecordLayout.hashPiece
        let text = piece.utf8Start
        let start = line.count - suffix
        for k in 0..<piece.utf8CodeUnitCount where line[start &+ k] != text[k] { return false }
        return true
    }

    /// Decodes any member order the JSON allows, for precise errors.
    static func decodeGeneric(_ line: UnsafeRawBufferPointer) throws(ArchiveFormatError) -> RecordFields {
        guard line.count > 2 else {
            throw ArchiveFormatError(.badRecord, "record line is too short (\(line.count) bytes)")
        }
        var ranges: [Range<Int>] = []
        ranges.reserveCapacity(9)
        do {
            var scanner = try ObjectScanner(line)
            var index = 0
            while let member = try scanner.next() {
                guard index < memberNames.count, scanner.key(member, equals: memberNames[index]) else {
                    let found = (try? scanner.keyString(member)) ?? "?"
                    throw ArchiveFormatError(
                        .badRecord,
                        "unexpected member \"\(found)\" at byte \(member.key.lowerBound); expected "
                            + (index < memberNames.count ? "\"\(memberNames[index])\"" : "the end of the record"))
                }
                ranges.append(member.value)
                index += 1
            }
            // Format 2 records end after `metadata`: the chain hash is not stored.
            guard index >= memberNames.count - 1 else {
                throw ArchiveFormatError(.badRecord, "record ends before member \"\(memberNames[index])\"")
            }
        } catch let error as ArchiveFormatError {
            throw error
        } catch {
            throw ArchiveFormatError(.badRecord, "malformed record: \(error)")
        }
        let hash: Range<Int>
        let bodyEnd: Int
        if ranges.count == memberNames.count {
            let member = ranges[8]
            guard member.count == 66, member.upperBound == line.count - 1, line[member.lowerBound] == 0x22 else {
                throw ArchiveFormatError(.badRecord, "the hash member is not 64 hex digits at the end of the record")
            }
            hash = (member.lowerBound + 1)..<(member.upperBound - 1)
            bodyEnd = line.count - RecordLayout.hashSuffixLength
        } else {
            // The v2 body is the line without its closing brace (whatever whitespace precedes it).
            guard line[line.count - 1] == UInt8(ascii: "}") else {
                throw ArchiveFormatError(.badRecord, "the record does not end with its closing brace")
            }
            hash = line.count..<line.count
            bodyEnd = line.count - 1
        }
        guard let position = integer(line, ranges[0]), let version = integer(line, ranges[2]) else {
            throw ArchiveFormatError(.badRecord, "position or version is not an integer")
        }
        guard let recordedAt = timestamp(line, ranges[5]) else {
            throw ArchiveFormatError(.badRecord, "recorded_at is not an RFC 3339 time")
        }
        return RecordFields(
            position: position, version: version, recordedAtNanos: recordedAt, stream: ranges[1],
            streamHash: StreamHash.fnv1a64(jsonString: UnsafeRawBufferPointer(rebasing: line[ranges[1]])),
            id: ranges[3],
            type: ranges[4], data: ranges[6], metadata: ranges[7], bodyEnd: bodyEnd, hash: hash)
    }

    /// The position of a record from the start of its line, without decoding the rest.
    public static func position(of line: UnsafeRawBufferPointer, in file: String) throws(ArchiveFormatError) -> Int64 {
        let prefix = RecordLayout.positionKey
        guard line.count > prefix.count, line.starts(with: prefix) else {
            throw ArchiveFormatError(.badRecord, "\(file): a line does not start with {\"position\":")
        }
        var value: Int64 = 0
        var i = prefix.count
        while i < line.count, line[i] >= 48, line[i] <= 57 {
            let (m, o1) = value.multipliedReportingOverflow(by: 10)
            let (s, o2) = m.addingReportingOverflow(Int64(line[i] - 48))
            guard !o1 && !o2 else { break }
            value = s
            i += 1
        }
        guard i > prefix.count, i < line.count, line[i] == UInt8(ascii: ",") else {
            throw ArchiveFormatError(.badRecord, "\(file): a record's position is not an integer")
        }
        return value
    }

    /// Decodes a JSON string value (range includes the quotes).
    public static func string(_ line: UnsafeRawBufferPointer, _ range: Range<Int>) -> String {
        let inner = UnsafeRawBufferPointer(rebasing: line[(range.lowerBound + 1)..<(range.upperBound - 1)])
        if inner.firstIndex(of: UInt8(ascii: "\\")) == nil {
            return String(decoding: inner, as: UTF8.self)
        }
        return (try? RawJSON.decodeString(UnsafeRawBufferPointer(rebasing: line[range])))
            ?? String(decoding: inner, as: UTF8.self)
    }

    /// True when the line's hash digits spell `expected`.
    public static func hashMatches(
        _ line: UnsafeRawBufferPointer, _ fields: RecordFields, _ expected: ChainHash
    )
        -> Bool
    {
        var hex: [UInt8] = []
        hex.reserveCapacity(64)
        expected.appendHex(to: &hex)
        return hex.withUnsafeBytes { $0.elementsEqual(UnsafeRawBufferPointer(rebasing: line[fields.hash])) }
    }

    /// The record's own hash (v1); nil when it has none (v2) or it is malformed.
    public static func hash(_ line: UnsafeRawBufferPointer, _ fields: RecordFields) -> ChainHash? {
        guard fields.hasHash else { return nil }
        return ChainHash(hex: String(decoding: UnsafeRawBufferPointer(rebasing: line[fields.hash]), as: UTF8.self))
    }

    /// The record's chain hash when `previous` is the one before it: its stored `hash` in v1 (nil if
    /// malformed), recomputed from `previous` and its body in v2.
    public static func chainHash(
        _ line: UnsafeRawBufferPointer, _ fields: RecordFields, after previous: ChainHash
    ) -> ChainHash? {
        guard fields.hasHash else {
            return previous.next(body: UnsafeRawBufferPointer(rebasing: line[0..<fields.bodyEnd]))
        }
        return hash(line, fields)
    }

    static func integer(_ line: UnsafeRawBufferPointer, _ range: Range<Int>) -> Int64? {
        guard !range.isEmpty else { return nil }
        var value: Int64 = 0
        var negative = false
        for i in range {
            let c = line[i]
            if i == range.lowerBound && c == UInt8(ascii: "-") {
                negative = true
                continue
            }
            guard c >= 48 && c <= 57 else { return nil }
            let (m, o1) = value.multipliedReportingOverflow(by: 10)
            let (s, o2) = m.addingReportingOverflow(Int64(c - 48))
            guard !o1 && !o2 else { return nil }
            value = s
        }
        return negative ? -value : value
    }

    static func timestamp(_ line: UnsafeRawBufferPointer, _ range: Range<Int>) -> Int64? {
        guard range.count >= 22, line[range.lowerBound] == 0x22 else { return nil }
        return ArchiveTime.parseRFC3339(
            bytes: UnsafeRawBufferPointer(rebasing: line[(range.lowerBound + 1)..<(range.upperBound - 1)]))
    }
}
