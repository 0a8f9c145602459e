/// A small Bloom filter over the stream names in one data file, so a single-stream read can skip files
/// that cannot hold the stream.
///
/// Text form (one token, no spaces): `<k>:<base64 of the bit array>`. Bit `j` is bit `j % 8` (least
/// significant first) of byte `j / 8`; the array has `m = 8 × bytes` bits. A name's `k` bit positions are
/// `(h1 + i·h2) mod m` for `i` in `0..<k`, with `h = fmix64(fnv1a64(name))` (``StreamHash``), `h1 = h & 0xffffffff` and
/// `h2 = (h >> 32) | 1` (Kirsch–Mitzenmacher double hashing). Sizing: about 10 bits per distinct stream
/// (≈1% false positives), at least 64 and at most 16,384 bits; a file with more streams gets a fuller filter
/// with more false positives, never a false negative.
///
/// ```swift
/// let filter = StreamFilter(streams: ["account-1", "account-2"])
/// filter.mayContain("account-1")  // true
/// StreamFilter(parsing: filter.text)?.mayContain("account-3")  // almost certainly false
/// ```
public struct StreamFilter: Sendable, Hashable {
    public static let maxBits = 16_384
    public private(set) var bits: [UInt8]
    public let hashCount: Int

    /// A filter sized for `streams`, holding all of them.
    public init<S: Collection>(streams: S) where S.Element == String {
        self.init(streamHashes: streams.map(StreamHash.fnv1a64))
    }

    /// A filter sized for streams given by their ``StreamHash/fnv1a64(_:)`` values (one per distinct stream),
    /// holding all of them: the same filter as ``init(streams:)`` over the streams themselves.
    public init<S: Collection>(streamHashes: S) where S.Element == UInt64 {
        let wanted = max(64, min(Self.maxBits, streamHashes.count * 10))
        let m = (wanted + 7) / 8 * 8
        let k = streamHashes.isEmpty ? 1 : Int((Double(m) / Double(streamHashes.count) * 0.693).rounded())
        self.bits = [UInt8](repeating: 0, count: m / 8)
        self.hashCount = max(1, min(8, k))
        for hash in streamHashes { forEachBit(ofHash: hash) { bits[$0 >> 3] |= 1 << UInt8($0 & 7) } }
    }

    /// Parses the text form; `nil` when it is malformed.
    public init?(parsing text: some StringProtocol) {
        guard let colon = text.firstIndex(of: ":"), let k = Int(text[..<colon]), (1...16).contains(k),
            let bytes = Base64.decode(text[text.index(after: colon)...]), !bytes.isEmpty
        else { return nil }
        self.bits = bytes
        self.hashCount = k
    }

    public var text: String { "\(hashCount):" + Base64.encode(bits) }

    public mutating func insert(_ stream: String) {
        forEachBit(of: stream) { bits[$0 >> 3] |= 1 << UInt8($0 & 7) }
    }

    /// False when the file certainly holds no event of `stream`.
    public func mayContain(_ stream: String) -> Bool {
        var all = true
        forEachBit(of: stream) { if bits[$0 >> 3] & (1 << UInt8($0 & 7)) == 0 { all = false } }
        return all
    }

    private func forEachBit(of stream: String, _ body: (Int) -> Void) {
        forEachBit(ofHash: StreamHash.fnv1a64(stream), body)
    }

    private func forEachBit(ofHash fnv: UInt64, _ body: (Int) -> Void) {
        let h = StreamHash.fmix64(fnv)
        let m = UInt64(bits.count * 8)
        let h1 = h & 0xffff_ffff
        let h2 = (h >> 32) | 1
        for i in 0..<UInt64(hashCount) { body(Int((h1 &+ i &* h2) % m)) }
    }
}

/// Standard base64 with padding (RFC 4648 §4), without Foundation.
enum Base64 {
    static let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)

    static func encode(_ bytes: [UInt8]) -> String {
        var out: [UInt8] = []
        out.reserveCapacity((bytes.count + 2) / 3 * 4)
        var i = 0
        while i < bytes.count {
            let b0 = bytes[i]
            let b1 = i + 1 < bytes.count ? bytes[i + 1] : 0
            let b2 = i + 2 < bytes.count ? bytes[i + 2] : 0
            out.append(alphabet[Int(b0 >> 2)])
            out.append(alphabet[Int((b0 & 0x03) << 4 | b1 >> 4)])
            out.append(i + 1 < bytes.count ? alphabet[Int((b1 & 0x0f) << 2 | b2 >> 6)] : UInt8(ascii: "="))
            out.append(i + 2 < bytes.count ? alphabet[Int(b2 & 0x3f)] : UInt8(ascii: "="))
            i += 3
        }
        return String(decoding: out, as: UTF8.self)
    }

    static func decode(_ text: some StringProtocol) -> [UInt8]? {
        let chars = Array(text.utf8)
        guard chars.count % 4 == 0 else { return nil }
        func value(_ c: UInt8) -> UInt8? {
            switch c {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"): c - UInt8(ascii: "A")
            case UInt8(ascii: "a")...UInt8(ascii: "z"): c - UInt8(ascii: "a") + 26
            case UInt8(ascii: "0")...UInt8(ascii: "9"): c - UInt8(ascii: "0") + 52
            case UInt8(ascii: "+"): 62
            case UInt8(ascii: "/"): 63
            default: nil
            }
        }
        var out: [UInt8] = []
        out.reserveCapacity(chars.count / 4 * 3)
        var i = 0
        while i < chars.count {
            let pad = (chars[i + 2] == UInt8(ascii: "=") ? 1 : 0) + (chars[i + 3] == UInt8(ascii: "=") ? 1 : 0)
            guard pad == 0 || i + 4 == chars.count, let a = value(chars[i]), let b = value(chars[i + 1]) else {
                return nil
            }
            let c = pad >= 2 ? 0 : value(chars[i + 2])
            let d = pad >= 1 ? 0 : value(chars[i + 3])
            guard let c, let d else { return nil }
            out.append(a << 2 | b >> 4)
            if pad < 2 { out.append((b & 0x0f) << 4 | c >> 2) }
            if pad < 1 { out.append((c & 0x03) << 6 | d) }
            i += 4
        }
        return out
    }
}
