internal import Crypto
internal import RawJSON

/// Writes archive record lines (format version 1) and advances the hash chain.
///
/// A line is, in this exact member order and with no whitespace:
/// ```
/// {"position":7,"stream":"account-42","version":3,"id":"…","type":"Deposited",
///  "recorded_at":"2026-11-23T07:34:24.123456Z","data":{…},"metadata":{…},"hash":"<64 hex>"}
/// ```
/// `data` and `metadata` are copied byte for byte as the application appended them (they were
/// validated as JSON on append). The hash covers the line up to `,"hash":`, chained to the previous line.
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

    public init(chain: ChainHash) {
        self.chain = chain
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
        out.append(contentsOf: RecordLayout.positionKey)
        appendInt(position, to: &out)
        out.append(contentsOf: RecordLayout.streamKey)
        RawJSON.appendQuoted(stream, to: &out)
        out.append(contentsOf: RecordLayout.versionKey)
        appendInt(version, to: &out)
        out.append(contentsOf: RecordLayout.idKey)
        RawJSON.appendQuoted(id, to: &out)
        out.append(contentsOf: RecordLayout.typeKey)
        RawJSON.appendQuoted(type, to: &out)
        out.append(contentsOf: RecordLayout.recordedAtKey)
        ArchiveTime.appendRFC3339Micros(recordedAtNanos, to: &out)
        out.append(UInt8(ascii: "\""))
        out.append(contentsOf: RecordLayout.dataKey)
        out.append(contentsOf: data)
        out.append(contentsOf: RecordLayout.metadataKey)
        out.append(contentsOf: metadata)
    }

    /// Completes the record whose body is `out[bodyStart...]`: hashes it onto ``chain`` and appends the
    /// `hash` member and the closing brace.
    public mutating func seal(_ out: inout [UInt8], bodyStart: Int) {
        let next = out.withUnsafeBytes { chain.next(body: UnsafeRawBufferPointer(rebasing: $0[bodyStart...])) }
        out.append(contentsOf: RecordLayout.hashKey)
        next.appendHex(to: &out)
        out.append(contentsOf: RecordLayout.lineEnd)
        chain = next
    }

    @inline(__always)
    static func appendInt(_ value: Int64, to out: inout [UInt8]) {
        var v = value.magnitude
        var digits: (UInt64, UInt64, UInt64) = (0, 0, 0)  // 24 bytes: room for a sign and 20 digits
        withUnsafeMutableBytes(of: &digits) { raw in
            var i = 23
            repeat {
                raw[i] = UInt8(48 + v % 10)
                v /= 10
                i -= 1
            } while v > 0
            if value < 0 {
                raw[i] = UInt8(ascii: "-")
                i -= 1
            }
            out.append(contentsOf: raw[(i + 1)...])
        }
    }
}

/// The fixed byte pieces of a version-1 record line.
enum RecordLayout {
    static let positionKey = Array(#"{"position":"#.utf8)
    static let streamKey = Array(#","stream":"#.utf8)
    static let versionKey = Array(#","version":"#.utf8)
    static let idKey = Array(#","id":"#.utf8)
    static let typeKey = Array(#","type":"#.utf8)
    static let recordedAtKey = Array(#","recorded_at":""#.utf8)
    static let dataKey = Array(#","data":"#.utf8)
    static let metadataKey = Array(#","metadata":"#.utf8)
    static let hashKey = Array(#","hash":""#.utf8)
    static let lineEnd = Array(#""}"#.utf8)
    /// `,"hash":"` + 64 hex digits + `"}`.
    static let hashSuffixLength = 9 + 64 + 2
}
