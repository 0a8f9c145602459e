internal import CZstd

/// Streaming zstd decompression of one or more concatenated frames (`ZSTD_decompressStream`).
///
/// Call ``finish()`` after the last input: it throws if the input stopped in the middle of a frame,
/// so a truncated object is an error rather than silently short output.
///
/// ```swift
/// let decompressor = try ZstdDecompressor()
/// var plain: [UInt8] = []
/// try packed.withUnsafeBytes { try decompressor.decompress($0, into: &plain) }
/// try decompressor.finish()
/// ```
public final class ZstdDecompressor {
    private let context: OpaquePointer
    private var scratch: [UInt8]
    /// True when the last step ended exactly at a frame boundary.
    private var atFrameBoundary = true
    private var sawInput = false

    /// - Throws: ``ZstdError`` if the context cannot be created.
    public init() throws {
        guard let context = ZSTD_createDCtx() else { throw ZstdError("cannot allocate a decompression context") }
        self.context = context
        self.scratch = [UInt8](repeating: 0, count: ZSTD_DStreamOutSize())
        // Cap the window at 128 MiB (2^27): enough for every level without long mode, and a bound on memory
        // for hostile input.
        _ = ZSTD_DCtx_setParameter(context, ZSTD_d_windowLogMax, 27)
    }

    deinit { ZSTD_freeDCtx(context) }

    /// Decompresses `input`, appending the plain bytes to `output`.
    /// - Parameter maxOutputSize: fail once `output` would grow beyond this many bytes.
    /// - Throws: ``ZstdError`` for corrupt input or too much output.
    public func decompress(
        _ input: UnsafeRawBufferPointer, into output: inout [UInt8], maxOutputSize: Int = .max
    ) throws {
        guard input.count > 0 else { return }
        sawInput = true
        var inBuffer = ZSTD_inBuffer(src: input.baseAddress, size: input.count, pos: 0)
        let capacity = scratch.count
        while true {
            let consumedBefore = inBuffer.pos
            let (hint, produced) = try scratch.withUnsafeMutableBytes { out -> (Int, Int) in
                var outBuffer = ZSTD_outBuffer(dst: out.baseAddress, size: capacity, pos: 0)
                let rc = try Zstd.check(ZSTD_decompressStream(context, &outBuffer, &inBuffer), "decompress")
                return (rc, outBuffer.pos)
            }
            if produced > 0 {
                guard output.count + produced <= maxOutputSize else {
                    throw ZstdError("decompressed data exceeds the limit of \(maxOutputSize) bytes")
                }
                scratch.withUnsafeBytes {
                    output.append(contentsOf: UnsafeRawBufferPointer(rebasing: $0[0..<produced]))
                }
            }
            // hint == 0: a frame was completely decoded and flushed. A step that did nothing (called only to
            // drain) says nothing about frame boundaries.
            if produced > 0 || inBuffer.pos > consumedBefore { atFrameBoundary = hint == 0 }
            // Done with this input once it is consumed and zstd has nothing more buffered for us.
            if inBuffer.pos == inBuffer.size && produced < capacity { break }
        }
    }

    /// Decompresses from `input` into `output` until the input is consumed or the output is full.
    ///
    /// Call again with the rest of the input (`input[consumed...]`) and fresh output room until both the
    /// input is consumed and a call produces less than the room it was given.
    /// - Returns: how many input bytes were consumed and how many output bytes were written.
    /// - Throws: ``ZstdError`` for corrupt input.
    public func decompress(
        _ input: UnsafeRawBufferPointer, into output: UnsafeMutableRawBufferPointer
    ) throws -> (consumed: Int, produced: Int) {
        if input.count > 0 { sawInput = true }
        var inBuffer = ZSTD_inBuffer(src: input.baseAddress, size: input.count, pos: 0)
        var outBuffer = ZSTD_outBuffer(dst: output.baseAddress, size: output.count, pos: 0)
        while inBuffer.pos < inBuffer.size || outBuffer.pos < outBuffer.size {
            let consumedBefore = inBuffer.pos
            let producedBefore = outBuffer.pos
            let hint = try Zstd.check(ZSTD_decompressStream(context, &outBuffer, &inBuffer), "decompress")
            let progressed = outBuffer.pos > producedBefore || inBuffer.pos > consumedBefore
            if progressed { atFrameBoundary = hint == 0 }
            // Nothing moved: zstd needs more input (or more room) than it was given.
            if !progressed || outBuffer.pos == outBuffer.size { break }
        }
        return (inBuffer.pos, outBuffer.pos)
    }

    /// Decompresses one whole frame (`input` holds exactly the frame, as ``Zstd/frames(in:)`` delimits it)
    /// into `output`, in one pass (`ZSTD_decompressDCtx`): no window buffer, no copy.
    ///
    /// Independent of the streaming calls: each call resets the context first.
    /// - Returns: the number of bytes written.
    /// - Throws: ``ZstdError`` for corrupt input, a checksum or content-size mismatch, or too little room.
    public func decompressFrame(
        _ input: UnsafeRawBufferPointer, into output: UnsafeMutableRawBufferPointer
    ) throws -> Int {
        try Zstd.check(
            ZSTD_decompressDCtx(context, output.baseAddress, output.count, input.baseAddress, input.count),
            "decompress")
    }

    /// Checks that the input ended at a frame boundary.
    /// - Throws: ``ZstdError`` when the data was truncated (or was empty).
    public func finish() throws {
        guard sawInput else { throw ZstdError("no data: an empty input is not a zstd frame") }
        guard atFrameBoundary else {
            throw ZstdError("truncated input: the data ended in the middle of a frame")
        }
    }
}
