import Basics
import Crypto
import Lode
internal import RawJSON

/// A 32-byte SHA-256 value of the archive's per-event hash chain.
///
/// `hash(n) = SHA-256(hash(n-1) ‖ body(n))`, where `body(n)` is the record line of event n up to (not
/// including) its `,"hash":` member (see docs/FORMAT.md). The chain starts from 32 zero bytes.
public struct ChainHash: Sendable, Hashable, CustomStringConvertible {
    /// The 32 bytes, inline (four words): the flusher and verifier make one per event, so no allocation.
    private var words: (UInt64, UInt64, UInt64, UInt64)

    /// The chain's starting value: 32 zero bytes.
    public static let genesis = ChainHash(words: (0, 0, 0, 0))

    private init(words: (UInt64, UInt64, UInt64, UInt64)) {
        self.words = words
    }

    public init(bytes: [UInt8]) {
        precondition(bytes.count == 32, "a chain hash has 32 bytes")
        var words: (UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0)
        withUnsafeMutableBytes(of: &words) { target in bytes.withUnsafeBytes { target.copyMemory(from: $0) } }
        self.words = words
    }

    /// Parses 64 hex digits; the empty string means ``genesis``.
    public init?(hex: String) {
        if hex.isEmpty {
            self = .genesis
            return
        }
        guard let bytes = HexCoding.decode(hex), bytes.count == 32 else { return nil }
        self.init(bytes: bytes)
    }

    /// A SHA-256 digest as a hash value, without an intermediate array.
    init(digest: SHA256.Digest) {
        var words: (UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0)
        digest.withUnsafeBytes { raw in withUnsafeMutableBytes(of: &words) { $0.copyMemory(from: raw) } }
        self.words = words
    }

    /// Copies the 32 bytes to `out`.
    @inline(__always)
    func write(to out: UnsafeMutableRawPointer) {
        withUnsafeBytes(of: words) { out.copyMemory(from: $0.baseAddress!, byteCount: 32) }
    }

    /// Feeds the 32 bytes to a hasher.
    func update(_ hasher: inout SHA256) {
        withUnsafeBytes(of: words) { hasher.update(bufferPointer: $0) }
    }

    public var bytes: [UInt8] { withUnsafeBytes(of: words) { Array($0) } }

    public var hex: String {
        var out: [UInt8] = []
        appendHex(to: &out)
        return String(decoding: out, as: UTF8.self)
    }

    public var description: String { hex }

    /// Appends the 64 lowercase hex digits.
    public func appendHex(to out: inout [UInt8]) {
        withUnsafeBytes(of: words) { HexCoding.appendHex($0, to: &out) }
    }

    /// Writes the 64 lowercase hex digits at `out`; returns 64.
    @inline(__always)
    public func writeHex(to out: UnsafeMutableRawPointer) -> Int {
        withUnsafeBytes(of: words) { HexCoding.writeHex($0, to: out) }
    }

    public static func == (a: ChainHash, b: ChainHash) -> Bool {
        a.words.0 == b.words.0 && a.words.1 == b.words.1 && a.words.2 == b.words.2 && a.words.3 == b.words.3
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(words.0)
        hasher.combine(words.1)
        hasher.combine(words.2)
        hasher.combine(words.3)
    }

    /// The next link: SHA-256 over this hash followed by `body`.
    public func next(body: UnsafeRawBufferPointer) -> ChainHash {
        var hasher = SHA256()
        update(&hasher)
        hasher.update(bufferPointer: body)
        return ChainHash(digest: hasher.finalize())
    }
}

/// Lowercase hex without Foundation.
public enum HexCoding {
    public static func encode<Bytes: Sequence>(_ bytes: Bytes) -> String where Bytes.Element == UInt8 {
        LowercaseHex.encode(bytes)
    }

    public static func appendHex<Bytes: Sequence>(_ bytes: Bytes, to out: inout [UInt8]) where Bytes.Element == UInt8 {
        LowercaseHex.append(bytes, to: &out)
    }

    /// Hex of raw bytes: one append for the whole run.
    public static func appendHex(_ bytes: UnsafeRawBufferPointer, to out: inout [UInt8]) {
        RawJSON.appendWritten(to: &out, atMost: bytes.count * 2) { writeHex(bytes, to: $0) }
    }

    /// Writes the hex of `bytes` at `out` (room for twice their count); returns the bytes written.
    @inline(__always)
    public static func writeHex(_ bytes: UnsafeRawBufferPointer, to out: UnsafeMutableRawPointer) -> Int {
        LowercaseHex.write(bytes, to: out)
    }

    /// Decodes lowercase or uppercase hex; nil on odd length or a non-hex character.
    public static func decode(_ text: String) -> [UInt8]? {
        LowercaseHex.decode(text.utf8)
    }
}
