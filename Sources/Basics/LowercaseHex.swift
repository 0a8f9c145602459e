/// Lowercase hex, the one copy for the package's modules (checksums, digests, chain hashes, keys, UUIDs).
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

    /// Writes the hex of `bytes` at `out` (room for twice their count); returns the bytes written.
    @inline(__always)
    package static func write(_ bytes: UnsafeRawBufferPointer, to out: UnsafeMutableRawPointer) -> Int {
        let table: StaticString = "0123456789abcdef"
        let hex = table.utf8Start
        for (i, b) in bytes.enumerated() {
            out.storeBytes(of: hex[Int(b >> 4)], toByteOffset: 2 * i, as: UInt8.self)
            out.storeBytes(of: hex[Int(b & 15)], toByteOffset: 2 * i + 1, as: UInt8.self)
        }
        return bytes.count * 2
    }

    /// The two digits of `byte`, high nibble first.
    @inline(__always)
    package static func digits(of byte: UInt8) -> (high: UInt8, low: UInt8) {
        (digits[Int(byte >> 4)], digits[Int(byte & 0x0F)])
    }

    /// Decodes lowercase or uppercase hex; nil on odd length or a non-hex character.
    package static func decode<Text: Collection<UInt8>>(_ text: Text) -> [UInt8]? {
        guard text.count % 2 == 0 else { return nil }
        var out = [UInt8]()
        out.reserveCapacity(text.count / 2)
        var index = text.startIndex
        while index != text.endIndex {
            let next = text.index(after: index)
            guard let high = value(text[index]), let low = value(text[next]) else { return nil }
            out.append(high << 4 | low)
            index = text.index(after: next)
        }
        return out
    }

    @inline(__always)
    private static func value(_ c: UInt8) -> UInt8? {
        switch c {
        case 48...57: c - 48
        case 97...102: c - 87
        case 65...70: c - 55
        default: nil
        }
    }
}
