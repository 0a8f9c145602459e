import Crypto

/// A 32-byte SHA-256 value of the archive's per-event hash chain.
///
/// `hash(n) = SHA-256(hash(n-1) ‖ body(n))`, where `body(n)` is the record line of event n up to (not
/// including) its `,"hash":` member (see docs/FORMAT.md). The chain starts from 32 zero bytes.
public struct ChainHash: Sendable, Hashable, CustomStringConvertible {
    public var bytes: [UInt8]

    /// The chain's starting value: 32 zero bytes.
    public static let genesis = ChainHash(bytes: [UInt8](repeating: 0, count: 32))

    public init(bytes: [UInt8]) {
        precondition(bytes.count == 32, "a chain hash has 32 bytes")
        self.bytes = bytes
    }

    /// Parses 64 lowercase hex digits; the empty string means ``genesis``.
    public init?(hex: String) {
        if hex.isEmpty {
            self = .genesis
            return
        }
        guard let bytes = HexCoding.decode(hex), bytes.count == 32 else { return nil }
        self.bytes = bytes
    }

    public var hex: String { HexCoding.encode(bytes) }
    public var description: String { hex }

    /// The next link: SHA-256 over this hash followed by `body`.
    public func next(body: UnsafeRawBufferPointer) -> ChainHash {
        var hasher = SHA256()
        bytes.withUnsafeBytes { hasher.update(bufferPointer: $0) }
        hasher.update(bufferPointer: body)
        return ChainHash(bytes: Array(hasher.finalize()))
    }
}

/// Lowercase hex without Foundation.
public enum HexCoding {
    static let digits = Array("0123456789abcdef".utf8)

    public static func encode<Bytes: Sequence>(_ bytes: Bytes) -> String where Bytes.Element == UInt8 {
        var out: [UInt8] = []
        out.reserveCapacity(64)
        appendHex(bytes, to: &out)
        return String(decoding: out, as: UTF8.self)
    }

    public static func appendHex<Bytes: Sequence>(_ bytes: Bytes, to out: inout [UInt8]) where Bytes.Element == UInt8 {
        for b in bytes {
            out.append(digits[Int(b >> 4)])
            out.append(digits[Int(b & 15)])
        }
    }

    /// Decodes lowercase or uppercase hex; nil on odd length or a non-hex character.
    public static func decode(_ text: String) -> [UInt8]? {
        let chars = Array(text.utf8)
        guard chars.count % 2 == 0 else { return nil }
        var out = [UInt8]()
        out.reserveCapacity(chars.count / 2)
        var i = 0
        while i < chars.count {
            guard let hi = value(chars[i]), let lo = value(chars[i + 1]) else { return nil }
            out.append(hi << 4 | lo)
            i += 2
        }
        return out
    }

    @inline(__always)
    static func value(_ c: UInt8) -> UInt8? {
        switch c {
        case 48...57: c - 48
        case 97...102: c - 87
        case 65...70: c - 55
        default: nil
        }
    }
}
