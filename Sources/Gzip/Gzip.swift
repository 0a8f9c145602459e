internal import CZlib

/// An error from zlib or from malformed gzip input.
public struct GzipError: Error, Sendable, CustomStringConvertible {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { "gzip: \(message)" }
}

/// One-shot gzip (RFC 1952) compression and decompression on zlib.
///
/// ```swift
/// let packed = try Gzip.compress(Array("hello".utf8))
/// let plain = try Gzip.decompress(packed)
/// ```
public enum Gzip {
    /// Compresses `input` into one gzip member. `level` is zlib's 0...9 (6 is Go's and zlib's default).
    public static func compress(_ input: [UInt8], level: Int32 = 6) throws -> [UInt8] {
        let compressor = try GzipCompressor(level: level)
        var output: [UInt8] = []
        output.reserveCapacity(input.count / 2 + 64)
        try input.withUnsafeBytes { try compressor.compress($0, into: &output) }
        try compressor.finish(into: &output)
        return output
    }

    /// Decompresses one or more concatenated gzip members.
    /// - Throws: ``GzipError`` for garbage, truncation, a CRC mismatch or more than `maxOutputSize` bytes.
    public static func decompress(_ input: [UInt8], maxOutputSize: Int = .max) throws -> [UInt8] {
        let decompressor = try GzipDecompressor()
        var output: [UInt8] = []
        try input.withUnsafeBytes { try decompressor.decompress($0, into: &output, maxOutputSize: maxOutputSize) }
        try decompressor.finish()
        return output
    }

    static func describe(_ code: Int32, _ stream: z_stream) -> String {
        if let msg = stream.msg { return String(cString: msg) }
        switch code {
        case Z_DATA_ERROR: return "corrupt data"
        case Z_MEM_ERROR: return "out of memory"
        case Z_BUF_ERROR: return "unexpected end of data"
        case Z_STREAM_ERROR: return "invalid parameters"
        default: return "zlib error \(code)"
        }
    }
}

/// Streaming gzip compression into one member (`deflate` with a gzip wrapper).
public final class GzipCompressor {
    private var stream = z_stream()
    private var scratch = [UInt8](repeating: 0, count: 64 * 1024)
    private var finished = false

    /// - Parameter level: 0 (store) ... 9 (smallest); 6 is the default.
    public init(level: Int32 = 6) throws {
        guard (0...9).contains(level) else { throw GzipError("compression level \(level) is out of range 0...9") }
        // windowBits 15 + 16 selects the gzip wrapper; memLevel 8 is zlib's default.
        let rc = deflateInit2_(
            &stream, level, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY, ZLIB_VERSION,
            Int32(MemoryLayout<z_stream>.size))
        guard rc == Z_OK else { throw GzipError("cannot initialise deflate: \(Gzip.describe(rc, stream))") }
    }

    deinit { deflateEnd(&stream) }

    /// Compresses `input`, appending ready output to `output`.
    public func compress(_ input: UnsafeRawBufferPointer, into output: inout [UInt8]) throws {
        guard !finished else { throw GzipError("compress called after finish") }
        guard let base = input.baseAddress, input.count > 0 else { return }
        var offset = 0
        // avail_in is 32-bit: feed at most 1 GiB at a time.
        while offset < input.count {
            let chunk = min(input.count - offset, 1 << 30)
            stream.next_in = UnsafeMutablePointer(
                mutating: base.advanced(by: offset).assumingMemoryBound(to: UInt8.self))
            stream.avail_in = UInt32(chunk)
            while stream.avail_in > 0 { _ = try step(Z_NO_FLUSH, into: &output) }
            offset += chunk
        }
    }

    /// Ends the member (trailer with CRC-32 and size).
    public func finish(into output: inout [UInt8]) throws {
        guard !finished else { return }
        stream.next_in = nil
        stream.avail_in = 0
        while try step(Z_FINISH, into: &output) != Z_STREAM_END {}
        finished = true
    }

    private func step(_ flush: Int32, into output: inout [UInt8]) throws -> Int32 {
        let capacity = scratch.count
        let (rc, produced) = scratch.withUnsafeMutableBufferPointer { out -> (Int32, Int) in
            stream.next_out = out.baseAddress
            stream.avail_out = UInt32(capacity)
            let rc = deflate(&stream, flush)
            return (rc, capacity - Int(stream.avail_out))
        }
        guard rc == Z_OK || rc == Z_STREAM_END || rc == Z_BUF_ERROR else {
            throw GzipError("deflate failed: \(Gzip.describe(rc, stream))")
        }
        if produced > 0 { output.append(contentsOf: scratch[0..<produced]) }
        return rc
    }
}

/// Streaming gzip decompression of one or more concatenated members (Go's reader is multistream too).
public final class GzipDecompressor {
    private var stream = z_stream()
    private var scratch = [UInt8](repeating: 0, count: 64 * 1024)
    /// True between members: the previous member ended and no byte of a new one was seen.
    private var atMemberBoundary = true
    private var sawInput = false

    public init() throws {
        // windowBits 15 + 16: gzip only (no zlib or raw deflate sniffing).
        let rc = inflateInit2_(&stream, 15 + 16, ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size))
        guard rc == Z_OK else { throw GzipError("cannot initialise inflate: \(Gzip.describe(rc, stream))") }
    }

    deinit { inflateEnd(&stream) }

    /// Decompresses `input`, appending plain bytes to `output`.
    public func decompress(
        _ input: UnsafeRawBufferPointer, into output: inout [UInt8], maxOutputSize: Int = .max
    ) throws {
        guard let base = input.baseAddress, input.count > 0 else { return }
        sawInput = true
        var offset = 0
        while offset < input.count {
            let chunk = min(input.count - offset, 1 << 30)
            stream.next_in = UnsafeMutablePointer(
                mutating: base.advanced(by: offset).assumingMemoryBound(to: UInt8.self))
            stream.avail_in = UInt32(chunk)
            offset += chunk
            var produced = 0
            // Keep going while input remains, or while the last step filled the buffer (zlib may hold more).
            repeat {
                atMemberBoundary = false
                let capacity = scratch.count
                let rc: Int32
                (rc, produced) = scratch.withUnsafeMutableBufferPointer { out -> (Int32, Int) in
                    stream.next_out = out.baseAddress
                    stream.avail_out = UInt32(capacity)
                    let rc = inflate(&stream, Z_NO_FLUSH)
                    return (rc, capacity - Int(stream.avail_out))
                }
                if produced > 0 {
                    guard output.count + produced <= maxOutputSize else {
                        throw GzipError("decompressed data exceeds the limit of \(maxOutputSize) bytes")
                    }
                    output.append(contentsOf: scratch[0..<produced])
                }
                switch rc {
                case Z_STREAM_END:
                    // A member ended; another may follow.
                    atMemberBoundary = true
                    guard inflateReset(&stream) == Z_OK else { throw GzipError("cannot reset inflate") }
                case Z_OK, Z_BUF_ERROR:
                    // Z_BUF_ERROR: no progress was possible (input exhausted); not an error by itself.
                    break
                default:
                    throw GzipError("corrupt data: \(Gzip.describe(rc, stream))")
                }
            } while stream.avail_in > 0 || produced == scratch.count
        }
    }

    /// Checks that the input ended at the end of a member.
    public func finish() throws {
        guard sawInput else { throw GzipError("no data: an empty input is not a gzip member") }
        guard atMemberBoundary else { throw GzipError("truncated input: the data ended in the middle of a member") }
    }
}
