/// An error in JSON text: what is wrong and at which byte.
public struct RawJSONError: Error, Sendable, Hashable, CustomStringConvertible {
    public var message: String
    public var offset: Int

    public init(_ message: String, offset: Int) {
        self.message = message
        self.offset = offset
    }

    public var description: String { "invalid JSON at byte \(offset): \(message)" }
}

/// A strict RFC 8259 scanner over UTF-8 bytes. It validates as it skips, never allocates, and bounds nesting
/// depth, so hostile input ends in an error, never a crash or a stack overflow.
struct JSONScanner {
    let bytes: UnsafeRawBufferPointer
    var index = 0
    let maxDepth: Int
    /// When set, ``skipValue(depth:)`` writes the offset after every string and container at the offset where it
    /// starts (``RawJSON/validate(_:recordingEndsIn:maxDepth:)``).
    var ends: UnsafeMutablePointer<Int32>? = nil

    init(_ bytes: UnsafeRawBufferPointer, maxDepth: Int = 512) {
        self.bytes = bytes
        self.maxDepth = maxDepth
    }

    /// Records that the value (or key) starting at `start` ends here.
    @inline(__always)
    func recordEnd(_ start: Int) {
        if let ends { ends[start] = Int32(truncatingIfNeeded: index) }
    }

    @inline(__always)
    func fail(_ message: String) -> RawJSONError { RawJSONError(message, offset: index) }

    @inline(__always)
    mutating func skipWhitespace() {
        while index < bytes.count {
            switch bytes[index] {
            case 0x20, 0x0A, 0x0D, 0x09: index += 1
            default: return
            }
        }
    }

    /// Skips one complete value, validating it; returns its byte range.
    mutating func skipValue(depth: Int = 0) throws(RawJSONError) -> Range<Int> {
        skipWhitespace()
        let start = index
        guard index < bytes.count else { throw fail("unexpected end of input, expected a value") }
        switch bytes[index] {
        case UInt8(ascii: "{"):
            guard depth < maxDepth else { throw fail("nesting deeper than \(maxDepth) levels") }
            index += 1
            skipWhitespace()
            if index < bytes.count && bytes[index] == UInt8(ascii: "}") {
                index += 1
                recordEnd(start)
                return start..<index
            }
            while true {
                skipWhitespace()
                guard index < bytes.count, bytes[index] == UInt8(ascii: "\"") else {
                    throw fail("expected a string key in object")
                }
                let key = index
                try skipString()
                recordEnd(key)
                skipWhitespace()
                guard index < bytes.count, bytes[index] == UInt8(ascii: ":") else {
                    throw fail("expected ':' after key")
                }
                index += 1
                _ = try skipValue(depth: depth + 1)
                skipWhitespace()
                guard index < bytes.count else { throw fail("unexpected end of input in object") }
                if bytes[index] == UInt8(ascii: ",") {
                    index += 1
                } else if bytes[index] == UInt8(ascii: "}") {
                    index += 1
                    recordEnd(start)
                    return start..<index
                } else {
                    throw fail("expected ',' or '}' in object")
                }
            }
        case UInt8(ascii: "["):
            guard depth < maxDepth else { throw fail("nesting deeper than \(maxDepth) levels") }
            index += 1
            skipWhitespace()
            if index < bytes.count && bytes[index] == UInt8(ascii: "]") {
                index += 1
                recordEnd(start)
                return start..<index
            }
            while true {
                _ = try skipValue(depth: depth + 1)
                skipWhitespace()
                guard index < bytes.count else { throw fail("unexpected end of input in array") }
                if bytes[index] == UInt8(ascii: ",") {
                    index += 1
                } else if bytes[index] == UInt8(ascii: "]") {
                    index += 1
                    recordEnd(start)
                    return start..<index
                } else {
                    throw fail("expected ',' or ']' in array")
                }
            }
        case UInt8(ascii: "\""):
            try skipString()
        case UInt8(ascii: "t"):
            try literal("true")
        case UInt8(ascii: "f"):
            try literal("false")
        case UInt8(ascii: "n"):
            try literal("null")
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"):
            try skipNumber()
        default:
            throw fail("unexpected character '\(Self.printable(bytes[index]))'")
        }
        recordEnd(start)
        return start..<index
    }

    static func printable(_ byte: UInt8) -> String {
        byte >= 0x20 && byte < 0x7F ? String(UnicodeScalar(byte)) : "\\x" + String(byte, radix: 16)
    }

    mutating func literal(_ word: StaticString) throws(RawJSONError) {
        let count = word.utf8CodeUnitCount
        guard index + count <= bytes.count else { throw fail("unexpected end of input in literal") }
        for i in 0..<count where bytes[index + i] != word.utf8Start[i] {
            throw fail("invalid literal, expected \(word)")
        }
        index += count
    }

    /// Skips a string starting at its opening quote, validating escapes and UTF-8.
    mutating func skipString() throws(RawJSONError) {
        index += 1  // opening quote
        skipPlainASCII()
        while index < bytes.count {
            let c = bytes[index]
            if c == UInt8(ascii: "\"") {
                index += 1
                return
            }
            if c == UInt8(ascii: "\\") {
                index += 1
                guard index < bytes.count else { break }
                switch bytes[index] {
                case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"), UInt8(ascii: "b"), UInt8(ascii: "f"),
                    UInt8(ascii: "n"), UInt8(ascii: "r"), UInt8(ascii: "t"):
                    index += 1
                case UInt8(ascii: "u"):
                    let unit = try hex4(at: index + 1)
                    index += 5
                    if unit >= 0xD800 && unit <= 0xDBFF {
                        guard index + 1 < bytes.count, bytes[index] == UInt8(ascii: "\\"),
                            bytes[index + 1] == UInt8(ascii: "u")
                        else { throw fail("lone high surrogate in \\u escape") }
                        let low = try hex4(at: index + 2)
                        guard low >= 0xDC00 && low <= 0xDFFF else { throw fail("invalid low surrogate in \\u escape") }
                        index += 6
                    } else if unit >= 0xDC00 && unit <= 0xDFFF {
                        throw fail("lone low surrogate in \\u escape")
                    }
                default:
                    throw fail("invalid escape '\\\(Self.printable(bytes[index]))'")
                }
                continue
            }
            if c < 0x20 { throw fail("unescaped control character in string") }
            if c < 0x80 {
                index += 1
                continue
            }
            try skipUTF8Sequence()
            skipPlainASCII()
        }
        throw fail("unterminated string")
    }

    /// Skips 8 bytes at a time while none of them is `"`, `\`, a control character or non-ASCII (SWAR:
    /// "SIMD within a register"), so long plain strings cost a few instructions per 8 bytes; then to the first
    /// such byte itself (the lowest flagged byte is exact: a false flag can only sit above a true one), so a
    /// short key costs one word, not a branchy loop per byte.
    @inline(__always)
    mutating func skipPlainASCII() {
        guard let base = bytes.baseAddress else { return }
        let ones: UInt64 = 0x0101_0101_0101_0101
        let highs: UInt64 = 0x8080_8080_8080_8080
        while index + 8 <= bytes.count {
            let word = UInt64(littleEndian: base.loadUnaligned(fromByteOffset: index, as: UInt64.self))
            let quote = word ^ (ones &* 0x22)
            let backslash = word ^ (ones &* 0x5C)
            // A byte is zero in x when (x - 0x01…) & ~x & 0x80… has its high bit.
            let special =
                ((quote &- ones) & ~quote) | ((backslash &- ones) & ~backslash) | ((word &- ones &* 0x20) & ~word)
                | word
            let flagged = special & highs
            if flagged != 0 {
                index += flagged.trailingZeroBitCount >> 3
                return
            }
            index += 8
        }
    }

    func hex4(at position: Int) throws(RawJSONError) -> UInt32 {
        guard position + 4 <= bytes.count else { throw RawJSONError("truncated \\u escape", offset: position) }
        var value: UInt32 = 0
        for i in 0..<4 {
            let c = bytes[position + i]
            let digit: UInt32
            switch c {
            case 48...57: digit = UInt32(c - 48)
            case 97...102: digit = UInt32(c - 87)
            case 65...70: digit = UInt32(c - 55)
            default: throw RawJSONError("invalid hex digit in \\u escape", offset: position + i)
            }
            value = value << 4 | digit
        }
        return value
    }

    /// Validates one multi-byte UTF-8 sequence (no overlongs, no surrogates, at most U+10FFFF).
    mutating func skipUTF8Sequence() throws(RawJSONError) {
        let c = bytes[index]
        let length: Int
        var lower: UInt8 = 0x80
        var upper: UInt8 = 0xBF
        switch c {
        case 0xC2...0xDF: length = 2
        case 0xE0:
            length = 3
            lower = 0xA0
        case 0xE1...0xEC, 0xEE...0xEF: length = 3
        case 0xED:
            length = 3
            upper = 0x9F
        case 0xF0:
            length = 4
            lower = 0x90
        case 0xF1...0xF3: length = 4
        case 0xF4:
            length = 4
            upper = 0x8F
        default: throw fail("invalid UTF-8 byte")
        }
        guard index + length <= bytes.count else { throw fail("truncated UTF-8 sequence") }
        let second = bytes[index + 1]
        guard second >= lower && second <= upper else { throw fail("invalid UTF-8 sequence") }
        for i in 2..<max(2, length) where bytes[index + i] & 0xC0 != 0x80 {
            throw fail("invalid UTF-8 sequence")
        }
        index += length
    }

    /// Skips a number per the RFC 8259 grammar: `-? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)?`.
    mutating func skipNumber() throws(RawJSONError) {
        if bytes[index] == UInt8(ascii: "-") { index += 1 }
        guard index < bytes.count else { throw fail("truncated number") }
        if bytes[index] == UInt8(ascii: "0") {
            index += 1
        } else if bytes[index] >= 0x31 && bytes[index] <= 0x39 {
            while index < bytes.count && bytes[index] >= 0x30 && bytes[index] <= 0x39 { index += 1 }
        } else {
            throw fail("invalid number")
        }
        if index < bytes.count && bytes[index] == UInt8(ascii: ".") {
            index += 1
            let digits = index
            while index < bytes.count && bytes[index] >= 0x30 && bytes[index] <= 0x39 { index += 1 }
            guard index > digits else { throw fail("expected digits after '.'") }
        }
        if index < bytes.count && (bytes[index] == UInt8(ascii: "e") || bytes[index] == UInt8(ascii: "E")) {
            index += 1
            if index < bytes.count && (bytes[index] == UInt8(ascii: "+") || bytes[index] == UInt8(ascii: "-")) {
                index += 1
            }
            let digits = index
            while index < bytes.count && bytes[index] >= 0x30 && bytes[index] <= 0x39 { index += 1 }
            guard index > digits else { throw fail("expected digits in exponent") }
        }
    }
}
