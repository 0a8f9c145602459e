internal import Crypto
internal import RawJSON

/// Writes archive record lines (``RecordFormat`` 1 or 2) and advances the hash chain.
///
/// A line is, in this exact member order and with no whitespace:
/// ```
/// {"position":7,"stream":"account-42","version":3,"id":"…","type":"Deposited",
///  "recorded_at":"2026-11-23T07:34:24.123456Z","data":{…},"metadata":{…},"hash":"<64 hex>"}
/// ```
/// `data` and `metadata` are copied byte for byte as the application appended them (they were
/// validated as JSON on append). The hash covers the line up to `,"hash":` (the body), chained to the previous
/// line. Format 2 writes the same body and closes it with `}` alone: the hash is recomputed by readers.
///
/// ```swift
/// var encoder = RecordEncoder(chain: .genesis)
/// var line: [UInt8] = []
/// encoder.encode(position: 1, stream: "a-1", version: 1, id: id, type: "Opened",
///                recordedAtNanos: now, data: "{}", metadata: "{}", into: &line)
/// ```
public struct RecordEncoder: Sendable {
    /// The chain head after the last encoded record.
    public private(set) var chain: ChainHash
    /// The line format written: whether lines end with their hash.
    public let format: RecordFormat

    public init(chain: ChainHash, format: RecordFormat = .v1) {
        self.chain = chain
        self.format = format
    }

    /// Appends one record line (without the trailing newline) to `out` and advances ``chain``.
    public mutating func encode(
        position: Int64, stream: String, version: Int64, id: String, type: String, recordedAtNanos: Int64,
        data: String, metadata: String, into out: inout [UInt8]
    ) {
        let start = out.count
        Self.appendBody(
            position: position, stream: stream, version: version, id: id, type: type,
            recordedAtNanos: recordedAtNanos, data: data, metadata: metadata, into: &out)
        seal(&out, bodyStart: start)
    }

    /// Appends the hashed part of a record line: everything before `,"hash":"`. It does not depend on the
    /// chain, so bodies can be encoded ahead (on another thread) and sealed in order with ``seal(_:bodyStart:)``.
    public static func appendBody(
        position: Int64, stream: String, version: Int64, id: String, type: String, recordedAtNanos: Int64,
        data: String, metadata: String, into out: inout [UInt8]
    ) {
        var (stream, id, type, data, metadata) = (stream, id, type, data, metadata)
        stream.withUTF8 { stream in
            id.withUTF8 { id in
                type.withUTF8 { type in
                    data.withUTF8 { data in
                        metadata.withUTF8 { metadata in
                            appendBody(
                                position: position, stream: UnsafeRawBufferPointer(stream), version: version,
                                id: UnsafeRawBufferPointer(id), type: UnsafeRawBufferPointer(type),
                                recordedAtNanos: recordedAtNanos, data: UnsafeRawBufferPointer(data),
                                metadata: UnsafeRawBufferPointer(metadata), into: &out)
                        }
                    }
                }
            }
        }
    }

    /// ``appendBody(position:stream:version:id:type:recordedAtNanos:data:metadata:into:)`` for columns given as
    /// UTF-8 bytes (as a store reads them).
    public static func appendBody(
        position: Int64, stream: UnsafeRawBufferPointer, version: Int64, id: UnsafeRawBufferPointer,
        type: UnsafeRawBufferPointer, recordedAtNanos: Int64, data: UnsafeRawBufferPointer,
        metadata: UnsafeRawBufferPointer, into out: inout [UInt8]
    ) {
        let limit = maxBodyBytes(
            stream: stream.count, id: id.count, type: type.count, data: data.count, metadata: metadata.count)
        RawJSON.appendWritten(to: &out, atMost: limit) {
            writeBody(
                position: position, stream: stream, version: version, id: id, type: type,
                recordedAtNanos: recordedAtNanos, data: data, metadata: metadata, to: $0)
        }
    }

    /// The most bytes ``writeBody(position:stream:version:id:type:recordedAtNanos:data:metadata:to:)`` writes
    /// for columns of these byte counts (as if every stream, id and type byte needed a `\u00XX` escape).
    @inline(__always)
    public static func maxBodyBytes(stream: Int, id: Int, type: Int, data: Int, metadata: Int) -> Int {
        RecordLayout.bodyOverhead + 6 * (stream + id + type) + data + metadata
    }

    /// Writes a record body (what ``appendBody(position:stream:version:id:type:recordedAtNanos:data:metadata:into:)``
    /// appends) at `out`, which has room for ``maxBodyBytes(stream:id:type:data:metadata:)``; returns the bytes
    /// written. The flusher encodes a whole page of bodies into one buffer this way.
    @inline(__always)
    public static func writeBody(
        position: Int64, stream: UnsafeRawBufferPointer, version: Int64, id: UnsafeRawBufferPointer,
        type: UnsafeRawBufferPointer, recordedAtNanos: Int64, data: UnsafeRawBufferPointer,
        metadata: UnsafeRawBufferPointer, to out: UnsafeMutableRawPointer
    ) -> Int {
        var p = out
        @inline(__always) func put(_ piece: StaticString) {
            p.copyMemory(from: piece.utf8Start, byteCount: piece.utf8CodeUnitCount)
            p += piece.utf8CodeUnitCount
        }
        @inline(__always) func put(_ bytes: UnsafeRawBufferPointer) {
            if let base = bytes.baseAddress { p.copyMemory(from: base, byteCount: bytes.count) }
            p += bytes.count
        }
        put(RecordLayout.positionPiece)
        p += writeInt(position, to: p)
        put(RecordLayout.streamPiece)
        p += RawJSON.writeQuoted(stream, to: p)
        put(RecordLayout.versionPiece)
        p += writeInt(version, to: p)
        put(RecordLayout.idPiece)
        p += RawJSON.writeQuoted(id, to: p)
        put(RecordLayout.typePiece)
        p += RawJSON.writeQuoted(type, to: p)
        put(RecordLayout.recordedAtPiece)
        p += ArchiveTime.writeRFC3339Micros(recordedAtNanos, to: p)
        put(RecordLayout.dataPiece)
        put(data)
        put(RecordLayout.metadataPiece)
        put(metadata)
        return p - out
    }

    /// Completes the record whose body is `out[bodyStart...]`: hashes it onto ``chain`` and appends the
    /// rest of the line (the `hash` member in v1, and the closing brace).
    public mutating func seal(_ out: inout [UInt8], bodyStart: Int) {
        let next = out.withUnsafeBytes { chain.next(body: UnsafeRawBufferPointer(rebasing: $0[bodyStart...])) }
        let format = self.format
        RawJSON.appendWritten(to: &out, atMost: format.restCount) { Self.writeRest(next, format: format, to: $0) }
        chain = next
    }

    /// Hashes `body` onto ``chain`` and writes the record's rest (the bytes that follow the body on its line:
    /// `,"hash":"<64 hex>"}` in v1, `}` in v2) at `out`, which has room for ``RecordFormat/restCount`` bytes.
    /// The flusher writes body and rest straight into a segment's buffer.
    public mutating func seal(body: UnsafeRawBufferPointer, restTo out: UnsafeMutableRawPointer) {
        chain = chain.next(body: body)
        _ = Self.writeRest(chain, format: format, to: out)
    }

    /// Writes the record `line` (either format, decoded as `fields`), whose chain value is `hash`, in `format`
    /// into `out`: the same body, then the rest that format puts after it. The chain runs over the body, so the
    /// rewritten record keeps its chain value (a compaction writes a generation in another format this way).
    public static func rewrite(
        _ line: UnsafeRawBufferPointer, _ fields: RecordFields, hash: ChainHash, as format: RecordFormat,
        into out: inout [UInt8]
    ) {
        out.removeAll(keepingCapacity: true)
        out.append(contentsOf: UnsafeRawBufferPointer(rebasing: line[0..<fields.bodyEnd]))
        RawJSON.appendWritten(to: &out, atMost: format.restCount) { writeRest(hash, format: format, to: $0) }
    }

    /// Writes the rest of a record line after its body; returns ``RecordFormat/restCount``.
    @inline(__always)
    static func writeRest(_ hash: ChainHash, format: RecordFormat, to out: UnsafeMutableRawPointer) -> Int {
        guard format == .v1 else {
            out.storeBytes(of: UInt8(ascii: "}"), as: UInt8.self)
            return 1
        }
        return writeSuffix(hash, to: out)
    }

    /// Writes `,"hash":"<64 hex of hash>"}` at `out`; returns ``RecordLayout/hashSuffixLength``.
    @inline(__always)
    static func writeSuffix(_ hash: ChainHash, to out: UnsafeMutableRawPointer) -> Int {
        let key = RecordLayout.hashPiece
        out.copyMemory(from: key.utf8Start, byteCount: key.utf8CodeUnitCount)
        var p = out + key.utf8CodeUnitCount
        p += hash.writeHex(to: p)
        p.storeBytes(of: UInt8(ascii: "\""), as: UInt8.self)
        p.storeBytes(of: UInt8(ascii: "}"), toByteOffset: 1, as: UInt8.self)
        return p + 2 - out
    }

    /// Writes the decimal digits of `value` (a `-` first when negative) at `out`; at most 20 bytes.
    @inline(__always)
    public static func writeInt(_ value: Int64, to out: UnsafeMutableRawPointer) -> Int {
        var v = value.magnitude
        var digits = 1
        var rest = v / 10
        while rest > 0 {
            digits += 1
            rest /= 10
        }
        var p = out
        if value < 0 {
            p.storeBytes(of: UInt8(ascii: "-"), as: UInt8.self)
            p += 1
        }
        for i in stride(from: digits - 1, through: 0, by: -1) {
            p.storeBytes(of: UInt8(48 + v % 10), toByteOffset: i, as: UInt8.self)
            v /= 10
        }
        return p + digits - out
    }
}

/// The fixed byte pieces of a record line (the hash piece only in version 1).
enum RecordLayout {
    static let positionPiece: StaticString = #"{"position":"#
    static let streamPiece: StaticString = #","stream":"#
    static let versionPiece: StaticString = #","version":"#
    static let idPiece: StaticString = #","id":"#
    static let typePiece: StaticString = #","type":"#
    /// Closes `recorded_at`'s quotes too: the time is the member's only value and always 27 bytes.
    static let recordedAtPiece: StaticString = #","recorded_at":""#
    static let dataPiece: StaticString = #"","data":"#
    static let metadataPiece: StaticString = #","metadata":"#
    static let hashPiece: StaticString = #","hash":""#
    static let positionKey = Array(
        UnsafeRawBufferPointer(start: positionPiece.utf8Start, count: positionPiece.utf8CodeUnitCount))
    /// `,"hash":"` + 64 hex digits + `"}`.
    static let hashSuffixLength = 9 + 64 + 2
    /// A body's bytes besides its five text columns and their quotes: the member keys, two integers of at most
    /// 20 bytes, the time's 27, and the quotes of stream, id and type.
    static let bodyOverhead =
        [positionPiece, streamPiece, versionPiece, idPiece, typePiece, recordedAtPiece, dataPiece, metadataPiece]
        .reduce(0) { $0 + $1.utf8CodeUnitCount } + 2 * 20 + ArchiveTime.rfc3339MicrosCount + 3 * 2
}
