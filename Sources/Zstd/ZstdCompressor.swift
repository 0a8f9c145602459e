internal import CZstd

/// Streaming zstd compression into a single frame (`ZSTD_compressStream2`).
///
/// Feed input with ``compress(_:into:)`` as it arrives and end the frame with ``finish(into:)``;
/// memory stays bounded by the zstd context (a few MiB at most for levels 1–19).
///
/// ```swift
/// let compressor = try ZstdCompressor(level: 1)
/// var out: [UInt8] = []
/// try chunk.withUnsafeBytes { try compressor.compress($0, into: &out) }
/// try compressor.finish(into: &out)
/// ```
public final class ZstdCompressor {
    private let context: OpaquePointer
    private var scratch: [UInt8]
    /// Room for one whole frame of ``compressFrame(_:into:)`` (grown to the largest frame's bound).
    private var frameScratch = UnsafeMutableRawBufferPointer.allocate(byteCount: 0, alignment: 16)
    private var finished = false
    /// True once ``compress(_:into:)`` has opened a frame.
    private var streaming = false

    /// - Parameters:
    ///   - level: compression level; see ``Zstd/levels``.
    ///   - checksum: write the frame's content checksum.
    ///   - pledgedSize: the exact total input size if known; it is then recorded in the frame header.
    /// - Throws: ``ZstdError`` if the context cannot be created or the level is out of range.
    public init(level: Int32 = 3, checksum: Bool = true, pledgedSize: UInt64? = nil) throws {
        guard Zstd.levels.contains(level) else {
            throw ZstdError("compression level \(level) is out of range \(Zstd.levels); use 1 (fast) to 19 (small)")
        }
        guard let context = ZSTD_createCCtx() else { throw ZstdError("cannot allocate a compression context") }
        self.context = context
        self.scratch = [UInt8](repeating: 0, count: ZSTD_CStreamOutSize())
        do {
            _ = try Zstd.check(ZSTD_CCtx_setParameter(context, ZSTD_c_compressionLevel, level), "set level")
            _ = try Zstd.check(ZSTD_CCtx_setParameter(context, ZSTD_c_checksumFlag, checksum ? 1 : 0), "set checksum")
            if let pledgedSize {
                _ = try Zstd.check(ZSTD_CCtx_setPledgedSrcSize(context, pledgedSize), "set pledged size")
            }
        } catch {
            ZSTD_freeCCtx(context)
            throw error
        }
    }

    deinit {
        ZSTD_freeCCtx(context)
        frameScratch.deallocate()
    }

    /// Compresses `input`, appending whatever compressed bytes are ready to `output`.
    public func compress(_ input: UnsafeRawBufferPointer, into output: inout [UInt8]) throws {
        guard !finished else { throw ZstdError("compress called after finish") }
        streaming = true
        var inBuffer = ZSTD_inBuffer(src: input.baseAddress, size: input.count, pos: 0)
        while inBuffer.pos < inBuffer.size {
            try drain(&inBuffer, mode: ZSTD_e_continue, into: &output)
        }
    }

    /// Compresses `input` as one whole frame, with its content size in the header, and appends the frame to
    /// `output`; the next call starts a new frame.
    ///
    /// A sequence of such frames is one valid zstd stream that any reader decompresses as a whole, and a reader
    /// that knows the frames can also decompress each on its own (``Zstd/frames(in:)``,
    /// ``ZstdDecompressor/decompressFrame(_:into:)``). Not to be mixed with ``compress(_:into:)``, whose frame
    /// stays open until ``finish(into:)``.
    /// - Throws: ``ZstdError`` if the compressor is in the middle of a streamed frame or zstd fails.
    public func compressFrame(_ input: UnsafeRawBufferPointer, into output: inout [UInt8]) throws {
        guard !finished, !streaming else {
            throw ZstdError("compressFrame called while a streamed frame is open or after finish")
        }
        let bound = ZSTD_compressBound(input.count)
        if frameScratch.count < bound {
            frameScratch.deallocate()
            frameScratch = .allocate(byteCount: bound, alignment: 16)
        }
        let written = try Zstd.check(
            ZSTD_compress2(context, frameScratch.baseAddress, frameScratch.count, input.baseAddress, input.count),
            "compress")
        output.append(contentsOf: UnsafeRawBufferPointer(rebasing: frameScratch[0..<written]))
    }

    /// Ends the frame, appending the remaining compressed bytes (and the checksum) to `output`.
    public func finish(into output: inout [UInt8]) throws {
        guard !finished else { return }
        var inBuffer = ZSTD_inBuffer(src: nil, size: 0, pos: 0)
        while try drain(&inBuffer, mode: ZSTD_e_end, into: &output) != 0 {}
        finished = true
    }

    /// Runs one `ZSTD_compressStream2` step; returns what zstd says is left to flush.
    @discardableResult
    private func drain(
        _ inBuffer: inout ZSTD_inBuffer, mode: ZSTD_EndDirective, into output: inout [UInt8]
    ) throws -> Int {
        let capacity = scratch.count
        let (remaining, produced) = try scratch.withUnsafeMutableBytes { out -> (Int, Int) in
            var outBuffer = ZSTD_outBuffer(dst: out.baseAddress, size: capacity, pos: 0)
            let rc = try Zstd.check(ZSTD_compressStream2(context, &outBuffer, &inBuffer, mode), "compress")
            return (rc, outBuffer.pos)
        }
        if produced > 0 {
            scratch.withUnsafeBytes { output.append(contentsOf: UnsafeRawBufferPointer(rebasing: $0[0..<produced])) }
        }
        return remaining
    }
}
