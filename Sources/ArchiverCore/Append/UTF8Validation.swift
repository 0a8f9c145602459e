/// Where input stops being UTF-8. Events are stored byte for byte, so bytes that are not UTF-8 are refused
/// with their place rather than repaired (a repair would store U+FFFD instead of what was sent).
public enum UTF8Validation {
    /// The place of the first byte that does not start a well-formed UTF-8 sequence (RFC 3629: no overlong
    /// forms, no surrogates, nothing above U+10FFFF), or nil when every byte is well-formed.
    /// `line` is 1-based; `offset` is the 0-based byte offset in that line.
    public static func firstInvalid(_ bytes: UnsafeRawBufferPointer) -> (line: Int, offset: Int)? {
        guard let index = firstInvalidIndex(bytes) else { return nil }
        var line = 1
        var lineStart = 0
        for i in 0..<index where bytes[i] == 0x0A {
            line += 1
            lineStart = i + 1
        }
        return (line, index - lineStart)
    }

    /// ``firstInvalid(_:)`` for a `[UInt8]`.
    public static func firstInvalid(_ bytes: [UInt8]) -> (line: Int, offset: Int)? {
        bytes.withUnsafeBytes { firstInvalid($0) }
    }

    /// The index of the first byte that does not start a well-formed UTF-8 sequence.
    public static func firstInvalidIndex(_ bytes: UnsafeRawBufferPointer) -> Int? {
        var i = 0
        let count = bytes.count
        while i < count {
            // Eight ASCII bytes at a time: most event JSON is ASCII.
            if i + 8 <= count, bytes.loadUnaligned(fromByteOffset: i, as: UInt64.self) & 0x8080_8080_8080_8080 == 0 {
                i += 8
                continue
            }
            let lead = bytes[i]
            if lead < 0x80 {
                i += 1
                continue
            }
            let length: Int
            var scalar: UInt32
            switch lead {
            case 0xC2...0xDF: (length, scalar) = (2, UInt32(lead & 0x1F))
            case 0xE0...0xEF: (length, scalar) = (3, UInt32(lead & 0x0F))
            case 0xF0...0xF4: (length, scalar) = (4, UInt32(lead & 0x07))
            default: return i  // a continuation byte, or a lead byte that only overlong or too-large forms use
            }
            guard i + length <= count else { return i }
            for k in 1..<length {
                let byte = bytes[i + k]
                guard byte & 0xC0 == 0x80 else { return i }
                scalar = scalar << 6 | UInt32(byte & 0x3F)
            }
            if length == 3 && (scalar < 0x800 || (0xD800...0xDFFF).contains(scalar)) { return i }
            if length == 4 && (scalar < 0x1_0000 || scalar > 0x10_FFFF) { return i }
            i += length
        }
        return nil
    }
}
