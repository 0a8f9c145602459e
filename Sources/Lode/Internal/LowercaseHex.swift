/// Lowercase hex encoding, the one copy for the package's modules (MD5 checksums, SigV4 digests, chain hashes).
package enum LowercaseHex {
    /// The sixteen digits, `0`–`9` then `a`–`f`.
    package static let digits: [UInt8] = Array("0123456789abcdef".utf8)

    /// The hex of `bytes`, two lowercase digits per byte.
    package static func encode<Bytes: Sequence<UInt8>>(_ bytes: Bytes) -> String {
        var out: [UInt8] = []
        out.reserveCapacity(bytes.underestimatedCount * 2)
        append(bytes, to: &out)
        return String(decoding: out, as: UTF8.self)
    }

    /// Appends the hex of `bytes` to `out`.
    package static func append<Bytes: Sequence<UInt8>>(_ bytes: Bytes, to out: inout [UInt8]) {
        for byte in bytes {
            out.append(digits[Int(byte >> 4)])
            out.append(digits[Int(byte & 0x0F)])
        }
    }
}
