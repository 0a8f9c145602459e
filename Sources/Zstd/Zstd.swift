internal import CZstd

/// One-shot zstd compression and decompression (RFC 8878 frames).
///
/// Wraps `ZSTD_compressStream2` / `ZSTD_decompressStream`; for input that does not fit in memory use
/// ``ZstdCompressor`` and ``ZstdDecompressor``.
///
/// ```swift
/// let packed = try Zstd.compress(Array("hello".utf8), level: 3)
/// let plain = try Zstd.decompress(packed)
/// ```
public enum Zstd {
    /// The linked libzstd version, e.g. "1.5.4" (calls `ZSTD_versionString`).
    public static var libraryVersion: String { String(cString: ZSTD_versionString()) }

    /// The range of compression levels libzstd accepts (negative levels are the fast modes).
    public static var levels: ClosedRange<Int32> { ZSTD_minCLevel()...ZSTD_maxCLevel() }

    /// Compresses `input` into one zstd frame with the content size recorded in the header.
    /// - Parameters:
    ///   - level: compression level (see ``levels``); 3 is zstd's default.
    ///   - checksum: append the frame's XXH64 content checksum (Go Lode writes it).
    /// - Throws: ``ZstdError`` for an invalid level.
    public static func compress(_ input: [UInt8], level: Int32 = 3, checksum: Bool = true) throws -> [UInt8] {
        let compressor = try ZstdCompressor(level: level, checksum: checksum, pledgedSize: UInt64(input.count))
        var output: [UInt8] = []
        output.reserveCapacity(ZSTD_compressBound(input.count))
        try input.withUnsafeBytes { try compressor.compress($0, into: &output) }
        try compressor.finish(into: &output)
        return output
    }

    /// Decompresses one or more concatenated zstd frames (skippable frames are skipped).
    /// - Parameter maxOutputSize: refuse to produce more than this many bytes (decompression bombs).
    /// - Throws: ``ZstdError`` for garbage, a truncated frame, a checksum mismatch or too much output.
    public static func decompress(_ input: [UInt8], maxOutputSize: Int = .max) throws -> [UInt8] {
        let decompressor = try ZstdDecompressor()
        var output: [UInt8] = []
        if let size = frameContentSize(input), size <= UInt64(min(maxOutputSize, 1 << 30)) {
            output.reserveCapacity(Int(size))
        }
        try input.withUnsafeBytes { try decompressor.decompress($0, into: &output, maxOutputSize: maxOutputSize) }
        try decompressor.finish()
        return output
    }

    /// The decompressed size recorded in the first frame's header, if it is there
    /// (calls `ZSTD_getFrameContentSize`).
    public static func frameContentSize(_ input: [UInt8]) -> UInt64? {
        let size = input.withUnsafeBytes { ZSTD_getFrameContentSize($0.baseAddress, $0.count) }
        // ZSTD_CONTENTSIZE_UNKNOWN and ZSTD_CONTENTSIZE_ERROR are the two largest UInt64 values.
        return size >= UInt64.max - 1 ? nil : size
    }

    /// One frame of a zstd stream: where it is and how much it holds.
    public struct Frame: Sendable, Hashable {
        /// Offset of the frame's first byte in the stream.
        public var offset: Int
        /// Bytes the frame takes in the stream.
        public var compressedSize: Int
        /// The decompressed size its header records (0 for a skippable frame), nil when the header leaves it
        /// out (a frame written by streaming compression without a pledged size).
        public var contentSize: Int?
    }

    /// The frames of `input`, in order, found by reading frame and block headers only (no decompression).
    /// - Returns: nil when `input` is not a whole sequence of frames (garbage, or truncated).
    public static func frames(in input: UnsafeRawBufferPointer) -> [Frame]? {
        guard let base = input.baseAddress else { return [] }
        var frames: [Frame] = []
        var offset = 0
        while offset < input.count {
            let remaining = input.count - offset
            let size = ZSTD_findFrameCompressedSize(base + offset, remaining)
            guard ZSTD_isError(size) == 0, size > 0, size <= remaining else { return nil }
            let content = ZSTD_getFrameContentSize(base + offset, remaining)
            // ZSTD_CONTENTSIZE_UNKNOWN and ZSTD_CONTENTSIZE_ERROR are the two largest UInt64 values.
            let known = content < UInt64.max - 1 && content <= UInt64(Int.max) ? Int(content) : nil
            frames.append(Frame(offset: offset, compressedSize: size, contentSize: known))
            offset += size
        }
        return frames
    }

    /// Turns a size_t return code into an error when it is one (`ZSTD_isError`).
    @inline(__always)
    static func check(_ code: Int, _ what: String) throws -> Int {
        if ZSTD_isError(code) != 0 {
            throw ZstdError("\(what): \(String(cString: ZSTD_getErrorName(code)))")
        }
        return code
    }
}
