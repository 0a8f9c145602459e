import Gzip
import Zstd

/// One zstd frame of a stored data object: where it lies and how much it holds.
public struct LodeFrame: Sendable, Hashable {
    /// Offset of the frame's first byte in the stored object.
    public var offset: Int
    /// Bytes the frame takes in the stored object.
    public var compressedSize: Int
    /// The decompressed size its header records, nil when the header leaves it out (a frame streamed without a
    /// pledged size, as older writers made them).
    public var contentSize: Int?
}

/// Decodes a zstd data object frame by frame, or as one stream.
///
/// ``SegmentFileWriter`` writes frames of about 1 MiB of input that end at a record boundary and record their
/// content size: ``frames(in:)`` finds them from the headers alone and ``decompressFrame(_:into:)`` decodes each
/// one on its own (so a reader may decode several in parallel, one decoder per task). Objects of other frames
/// are read as a stream with ``decompress(_:into:)`` and ``finish()``. Wraps libzstd's decompression context.
///
/// ```swift
/// let decoder = try DataObjectDecoder()
/// for frame in DataObjectDecoder.frames(in: stored) ?? [] {
///     let produced = try decoder.decompressFrame(stored[frame], into: buffer)
/// }
/// ```
public final class DataObjectDecoder {
    private let zstd: ZstdDecompressor

    /// - Throws: when libzstd cannot allocate a context.
    public init() throws {
        zstd = try ZstdDecompressor()
    }

    /// The frames of a stored zstd object, in order, from frame and block headers only
    /// (`ZSTD_findFrameCompressedSize`).
    /// - Returns: nil when `stored` is not a whole sequence of frames (damaged or truncated).
    public static func frames(in stored: UnsafeRawBufferPointer) -> [LodeFrame]? {
        Zstd.frames(in: stored)?.map {
            LodeFrame(offset: $0.offset, compressedSize: $0.compressedSize, contentSize: $0.contentSize)
        }
    }

    /// Decompresses exactly one frame into `output` in one pass (`ZSTD_decompressDCtx`); independent of the
    /// streaming calls.
    /// - Returns: the bytes written.
    /// - Throws: for corrupt input, a checksum or content-size mismatch, or too little room.
    public func decompressFrame(
        _ frame: UnsafeRawBufferPointer, into output: UnsafeMutableRawBufferPointer
    ) throws
        -> Int
    {
        try zstd.decompressFrame(frame, into: output)
    }

    /// Streams from `input` into `output` until the input is consumed or the output is full
    /// (`ZSTD_decompressStream`). Call again with `input[consumed...]` and fresh room until the input is
    /// consumed and a call produces less than the room it was given; then ``finish()``.
    /// - Returns: the input bytes consumed and the output bytes written.
    public func decompress(
        _ input: UnsafeRawBufferPointer, into output: UnsafeMutableRawBufferPointer
    ) throws
        -> (consumed: Int, produced: Int)
    {
        try zstd.decompress(input, into: output)
    }

    /// Checks that the streamed input ended at a frame boundary.
    /// - Throws: when it was truncated or empty.
    public func finish() throws {
        try zstd.finish()
    }
}

@available(*, unavailable)
extension DataObjectDecoder: Sendable {}

extension LodeCompressor {
    /// Decompresses a whole stored object written with this compressor (`noop` returns it unchanged).
    /// - Throws: when the bytes are not valid for the compressor (damaged or truncated).
    public func decompress(_ stored: [UInt8]) throws -> [UInt8] {
        switch self {
        case .noop: stored
        case .gzip: try Gzip.decompress(stored)
        case .zstd: try Zstd.decompress(stored)
        }
    }
}
