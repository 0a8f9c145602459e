import Basics
import Crypto
import Gzip
import Zstd

/// One streaming compressor of any configured kind; `noop` copies.
enum StreamCompressor {
    case noop
    case gzip(GzipCompressor)
    case zstd(ZstdCompressor)

    init(_ compressor: LodeCompressor) throws(LodeError) {
        do {
            switch compressor {
            case .noop: self = .noop
            case .gzip(let level): self = .gzip(try GzipCompressor(level: level))
            case .zstd(let level): self = .zstd(try ZstdCompressor(level: level, checksum: true))
            }
        } catch {
            throw LodeError(
                .invalidConfiguration, "cannot create the \(compressor.manifestName) compressor",
                cause: String(describing: error))
        }
    }

    /// Appends the compressed form of `input` (or `input` itself for noop) to `output`.
    ///
    /// zstd writes each call's input as a frame of its own, its content size in the header: the stream stays
    /// one valid zstd stream for every reader, and a reader that walks the frames can decompress them
    /// independently and in parallel (the archive's replay does). gzip streams one member across calls.
    func compress(_ input: UnsafeRawBufferPointer, into output: inout [UInt8]) throws {
        switch self {
        case .noop: output.append(contentsOf: input)
        case .gzip(let compressor): try compressor.compress(input, into: &output)
        case .zstd(let compressor): try compressor.compressFrame(input, into: &output)
        }
    }

    /// Ends the stream; `wroteInput` says whether ``compress(_:into:)`` was ever called with bytes (zstd then
    /// has nothing left to end, and an empty stream gets one empty frame: a zero-byte file is not zstd).
    func finish(into output: inout [UInt8], wroteInput: Bool) throws {
        switch self {
        case .noop: break
        case .gzip(let compressor): try compressor.finish(into: &output)
        case .zstd(let compressor):
            if !wroteInput { try compressor.compressFrame(UnsafeRawBufferPointer(start: nil, count: 0), into: &output) }
        }
    }
}

/// One streaming decompressor chosen by a manifest's compressor name; `noop` copies.
enum StreamDecompressor {
    case noop
    case gzip(GzipDecompressor)
    case zstd(ZstdDecompressor)

    init(_ compression: StoredCompression) throws {
        switch compression {
        case .noop: self = .noop
        case .gzip: self = .gzip(try GzipDecompressor())
        case .zstd: self = .zstd(try ZstdDecompressor())
        }
    }

    func decompress(_ input: UnsafeRawBufferPointer, into output: inout [UInt8]) throws {
        switch self {
        case .noop: output.append(contentsOf: input)
        case .gzip(let decompressor): try decompressor.decompress(input, into: &output)
        case .zstd(let decompressor): try decompressor.decompress(input, into: &output)
        }
    }

    func finish() throws {
        switch self {
        case .noop: break
        case .gzip(let decompressor): try decompressor.finish()
        case .zstd(let decompressor): try decompressor.finish()
        }
    }
}

/// Incremental MD5 with lowercase-hex output.
struct MD5Hasher {
    private var hasher = Insecure.MD5()

    mutating func update(_ bytes: UnsafeRawBufferPointer) {
        hasher.update(bufferPointer: bytes)
    }

    func finalizeHex() -> String {
        Self.hex(hasher.finalize())
    }

    static func hex(of bytes: [UInt8]) -> String {
        hex(Insecure.MD5.hash(data: bytes))
    }

    private static func hex<D: Sequence<UInt8>>(_ digest: D) -> String {
        LowercaseHex.encode(digest)
    }
}
