/// Hand-written JSON for hot paths: validation, string escaping and decoding, number parsing.
///
/// Foundation's JSON coders run ~0.1 M events/s on Linux; these functions work on raw UTF-8 bytes without
/// building trees or allocating per value. They follow RFC 8259 strictly (see docs/RAWJSON.md).
///
/// ```swift
/// try RawJSON.validate(#"{"amount":5}"#)
/// var out: [UInt8] = []
/// RawJSON.appendQuoted("a \"quoted\" word", to: &out)
/// ```
public enum RawJSON {
    /// Validates one complete JSON text (any value, surrounding whitespace allowed).
    /// - Throws: ``RawJSONError`` naming the problem and its byte offset.
    public static func validate(_ text: String, maxDepth: Int = 512) throws(RawJSONError) {
        var text = text
        let result = text.withUTF8 { buffer -> RawJSONError? in
            do throws(RawJSONError) {
                try validate(UnsafeRawBufferPointer(buffer), maxDepth: maxDepth)
                return nil
            } catch {
                return error
            }
        }
        if let result { throw result }
    }

    /// ``validate(_:maxDepth:)`` over UTF-8 bytes.
    public static func validate(_ bytes: UnsafeRawBufferPointer, maxDepth: Int = 512) throws(RawJSONError) {
        var scanner = JSONScanner(bytes, maxDepth: maxDepth)
        _ = try scanner.skipValue()
        scanner.skipWhitespace()
        guard scanner.index == bytes.count else { throw scanner.fail("unexpected text after the JSON value") }
    }

    /// ``validate(_:maxDepth:)`` that also writes, for every value and key, the offset after it at
    /// `ends[offset where it starts]`; other entries are left as they were. `ends` has room for
    /// `bytes.count` entries. The one pass that checks an event also indexes it for a merge.
    public static func validate(
        _ bytes: UnsafeRawBufferPointer, recordingEndsIn ends: UnsafeMutablePointer<Int32>, maxDepth: Int = 512
    ) throws(RawJSONError) {
        var scanner = JSONScanner(bytes, maxDepth: maxDepth)
        scanner.ends = ends
        _ = try scanner.skipValue()
        scanner.skipWhitespace()
        guard scanner.index == bytes.count else { throw scanner.fail("unexpected text after the JSON value") }
    }

    /// True when `text` is one valid JSON object.
    public static func isObject(_ text: String) -> Bool {
        var text = text
        return text.withUTF8 { buffer in
            let bytes = UnsafeRawBufferPointer(buffer)
            var scanner = JSONScanner(bytes)
            scanner.skipWhitespace()
            guard scanner.index < bytes.count, bytes[scanner.index] == UInt8(ascii: "{") else { return false }
            guard (try? scanner.skipValue()) != nil else { return false }
            scanner.skipWhitespace()
            return scanner.index == bytes.count
        }
    }

    /// Appends `s` as a JSON string literal: `"` and `\` escaped, control characters as `\n \r \t \b \f` or
    /// `\u00XX`, everything else (including non-ASCII) as UTF-8.
    public static func appendQuoted(_ s: String, to out: inout [UInt8]) {
        var s = s
        s.withUTF8 { appendQuoted(UnsafeRawBufferPointer($0), to: &out) }
    }

    /// ``appendQuoted(_:to:)`` for UTF-8 bytes.
    public static func appendQuoted(_ bytes: UnsafeRawBufferPointer, to out: inout [UInt8]) {
        appendWritten(to: &out, atMost: quotedCount(bytes)) { writeQuoted(bytes, to: $0) }
    }

    /// The number of bytes ``writeQuoted(_:to:)`` writes for `bytes`; at most `6 * bytes.count + 2`.
    public static func quotedCount(_ bytes: UnsafeRawBufferPointer) -> Int {
        var count = bytes.count + 2
        for c in bytes where c < 0x20 || c == UInt8(ascii: "\"") || c == UInt8(ascii: "\\") {
            count += shortEscape(c) == nil ? 5 : 1
        }
        return count
    }

    /// Writes `bytes` as a JSON string literal (as ``appendQuoted(_:to:)`` does) at `out`, which has room for
    /// ``quotedCount(_:)`` bytes (`6 * bytes.count + 2` always suffices); returns the bytes written.
    @inline(__always)
    public static func writeQuoted(_ bytes: UnsafeRawBufferPointer, to out: UnsafeMutableRawPointer) -> Int {
        var p = out
        p.storeBytes(of: UInt8(ascii: "\""), as: UInt8.self)
        p += 1
        var runStart = 0
        var i = 0
        while i < bytes.count {
            // Eight bytes at a time while none needs an escape (names and ids rarely do).
            if i + 8 <= bytes.count, !anyNeedsEscape(bytes.loadUnaligned(fromByteOffset: i, as: UInt64.self)) {
                i += 8
                continue
            }
            let end = min(i + 8, bytes.count)
            while i < end {
                let c = bytes[i]
                if c < 0x20 || c == UInt8(ascii: "\"") || c == UInt8(ascii: "\\") {
                    if i > runStart {
                        p.copyMemory(from: bytes.baseAddress! + runStart, byteCount: i - runStart)
                        p += i - runStart
                    }
                    p += writeEscape(c, to: p)
                    runStart = i + 1
                }
                i += 1
            }
        }
        if bytes.count > runStart {
            p.copyMemory(from: bytes.baseAddress! + runStart, byteCount: bytes.count - runStart)
            p += bytes.count - runStart
        }
        p.storeBytes(of: UInt8(ascii: "\""), as: UInt8.self)
        return p + 1 - out
    }

    /// True when one of the eight bytes of `word` is a control character, `"` or `\\`: the "has a byte less than
    /// n" and "has a zero byte" word tricks, exact for the word as a whole (a borrow can only mark bytes above
    /// one that matched).
    @inline(__always)
    static func anyNeedsEscape(_ word: UInt64) -> Bool {
        let ones: UInt64 = 0x0101_0101_0101_0101
        let high: UInt64 = 0x8080_8080_8080_8080
        let quote = word ^ (ones &* 0x22)
        let backslash = word ^ (ones &* 0x5C)
        let control = (word &- ones &* 0x20) & ~word
        return (control | (quote &- ones) & ~quote | (backslash &- ones) & ~backslash) & high != 0
    }

    /// Writes the escape of `c` (a control character, `"` or `\\`) at `p`; returns its length (2 or 6).
    @inline(__always)
    private static func writeEscape(_ c: UInt8, to p: UnsafeMutableRawPointer) -> Int {
        p.storeBytes(of: UInt8(ascii: "\\"), as: UInt8.self)
        if let short = shortEscape(c) {
            p.storeBytes(of: short, toByteOffset: 1, as: UInt8.self)
            return 2
        }
        let hex: StaticString = "0123456789abcdef"
        p.storeBytes(of: UInt8(ascii: "u"), toByteOffset: 1, as: UInt8.self)
        p.storeBytes(of: UInt8(ascii: "0"), toByteOffset: 2, as: UInt8.self)
        p.storeBytes(of: UInt8(ascii: "0"), toByteOffset: 3, as: UInt8.self)
        p.storeBytes(of: hex.utf8Start[Int(c >> 4)], toByteOffset: 4, as: UInt8.self)
        p.storeBytes(of: hex.utf8Start[Int(c & 15)], toByteOffset: 5, as: UInt8.self)
        return 6
    }

    /// The letter of `c`'s two-byte escape (`\"`, `\\`, `\n`, `\r`, `\t`, `\b`, `\f`); nil for the other control
    /// characters, which take `\u00XX`.
    @inline(__always)
    private static func shortEscape(_ c: UInt8) -> UInt8? {
        switch c {
        case UInt8(ascii: "\""): UInt8(ascii: "\"")
        case UInt8(ascii: "\\"): UInt8(ascii: "\\")
        case 0x0A: UInt8(ascii: "n")
        case 0x0D: UInt8(ascii: "r")
        case 0x09: UInt8(ascii: "t")
        case 0x08: UInt8(ascii: "b")
        case 0x0C: UInt8(ascii: "f")
        default: nil
        }
    }

    /// Appends what `write` writes through a pointer to room for `limit` bytes at the end of `out`; `write`
    /// returns how many it wrote (at most `limit`). One growth and no per-byte checks, for writers that know a
    /// bound.
    public static func appendWritten(
        to out: inout [UInt8], atMost limit: Int, _ write: (UnsafeMutableRawPointer) -> Int
    ) {
        guard limit > 0 else { return }
        let start = out.count
        out.append(contentsOf: repeatElement(0, count: limit))
        let written = out.withUnsafeMutableBytes { write($0.baseAddress! + start) }
        precondition(written >= 0 && written <= limit, "a writer wrote \(written) bytes into room for \(limit)")
        out.removeLast(limit - written)
    }

    /// Decodes a JSON string literal (quotes included), resolving escapes and surrogate pairs.
    /// - Throws: ``RawJSONError`` when the literal is malformed.
    public static func decodeString(_ literal: UnsafeRawBufferPointer) throws(RawJSONError) -> String {
        var scanner = JSONScanner(literal)
        guard literal.count >= 2, literal[0] == UInt8(ascii: "\"") else {
            throw RawJSONError("expected a string", offset: 0)
        }
        try scanner.skipString()
        guard scanner.index == literal.count else { throw RawJSONError("text after the string", offset: scanner.index) }
        let inner = UnsafeRawBufferPointer(rebasing: literal[1..<(literal.count - 1)])
        guard inner.contains(UInt8(ascii: "\\")) else { return String(decoding: inner, as: UTF8.self) }
        var out: [UInt8] = []
        out.reserveCapacity(inner.count)
        var i = 0
        while i < inner.count {
            let c = inner[i]
            guard c == UInt8(ascii: "\\") else {
                out.append(c)
                i += 1
                continue
            }
            let e = inner[i + 1]
            i += 2
            switch e {
            case UInt8(ascii: "n"): out.append(0x0A)
            case UInt8(ascii: "r"): out.append(0x0D)
            case UInt8(ascii: "t"): out.append(0x09)
            case UInt8(ascii: "b"): out.append(0x08)
            case UInt8(ascii: "f"): out.append(0x0C)
            case UInt8(ascii: "u"):
                var scalar = try scanner.hex4(at: i + 1)
                i += 4
                if scalar >= 0xD800 && scalar <= 0xDBFF {
                    let low = try scanner.hex4(at: i + 3)
                    scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                    i += 6
                }
                out.append(contentsOf: String(Character(Unicode.Scalar(scalar)!)).utf8)
            default: out.append(e)  // " \ /
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// Parses a JSON number literal to Double (`nil` if it is not a number; huge values become ±infinity).
    public static func parseDouble(_ literal: UnsafeRawBufferPointer) -> Double? {
        var scanner = JSONScanner(literal)
        guard !literal.isEmpty, (try? scanner.skipNumber()) != nil, scanner.index == literal.count else { return nil }
        // Fast path: integers that fit in 2^53 are exact.
        if literal.count <= 16, !literal.contains(UInt8(ascii: ".")), !literal.contains(UInt8(ascii: "e")),
            !literal.contains(UInt8(ascii: "E")), let i = parseInt64(literal)
        {
            return Double(i)
        }
        if let value = exactDecimal(literal) { return value }
        return Double(String(decoding: literal, as: UTF8.self))
    }

    /// Powers of ten that are exact doubles.
    private static let exactPowersOfTen: [Double] = (0...22).map { exponent in
        (0..<exponent).reduce(1.0) { value, _ in value * 10 }
    }

    /// Clinger's fast path for a validated `-?digits.digits` literal of at most 15 significant digits: the
    /// digits as an integer and the power of ten are both exact doubles, so one division rounds correctly.
    /// nil for anything else (exponents, longer mantissas), which the general parser handles.
    private static func exactDecimal(_ literal: UnsafeRawBufferPointer) -> Double? {
        guard literal.count <= 24 else { return nil }
        var i = 0
        let negative = literal[0] == UInt8(ascii: "-")
        if negative { i = 1 }
        var mantissa: UInt64 = 0
        var digits = 0
        var fractionDigits = 0
        var sawPoint = false
        while i < literal.count {
            let c = literal[i]
            if c == UInt8(ascii: ".") {
                sawPoint = true
            } else if c >= 0x30 && c <= 0x39 {
                if mantissa != 0 || c != 0x30 { digits += 1 }
                mantissa = mantissa &* 10 &+ UInt64(c - 0x30)
                if sawPoint { fractionDigits += 1 }
            } else {
                return nil
            }
            i += 1
        }
        guard digits <= 15, fractionDigits <= 22 else { return nil }
        let value = Double(mantissa) / exactPowersOfTen[fractionDigits]
        return negative ? -value : value
    }

    /// Parses an integral JSON number literal to Int64 (`nil` for fractions, exponents or overflow).
    public static func parseInt64(_ literal: UnsafeRawBufferPointer) -> Int64? {
        guard !literal.isEmpty else { return nil }
        var i = 0
        let negative = literal[0] == UInt8(ascii: "-")
        if negative { i = 1 }
        guard i < literal.count, literal.count - i == 1 || literal[i] != 0x30 else { return nil }
        var value: Int64 = 0
        while i < literal.count {
            let c = literal[i]
            guard c >= 0x30 && c <= 0x39 else { return nil }
            let (m, o1) = value.multipliedReportingOverflow(by: 10)
            let (s, o2) =
                negative ? m.subtractingReportingOverflow(Int64(c - 0x30)) : m.addingReportingOverflow(Int64(c - 0x30))
            guard !o1 && !o2 else { return nil }
            value = s
            i += 1
        }
        return value
    }
}

extension RawJSON {
    /// The end offset of the JSON value that starts at `start`, found structurally (strings and nesting are
    /// followed, nothing else is checked). For bytes already known to be valid JSON (validated when appended,
    /// then covered by checksums): several times faster than validating. Returns nil when the structure is
    /// broken (unbalanced, unterminated, or nothing at `start`).
    public static func structuralEnd(of bytes: UnsafeRawBufferPointer, from start: Int) -> Int? {
        guard start < bytes.count else { return nil }
        var i = start
        let first = bytes[i]
        if first != UInt8(ascii: "{") && first != UInt8(ascii: "[") && first != UInt8(ascii: "\"") {
            // A scalar: runs until a delimiter.
            while i < bytes.count {
                switch bytes[i] {
                case UInt8(ascii: ","), UInt8(ascii: "}"), UInt8(ascii: "]"), 0x20, 0x0A, 0x0D, 0x09:
                    return i > start ? i : nil
                default: i += 1
                }
            }
            return i
        }
        if first != UInt8(ascii: "\"") && hasBlockScan { return structuralEndByBlocks(of: bytes, from: start) }
        return structuralEndByWords(of: bytes, from: start)
    }

    /// ``structuralEnd(of:from:)`` for a string, object or array, eight bytes at a time: for strings (the loop
    /// stops only at the closing quote or a backslash), and for objects and arrays where the block scan is not
    /// available.
    static func structuralEndByWords(of bytes: UnsafeRawBufferPointer, from start: Int) -> Int? {
        var i = start
        var depth = 0
        var inString = false
        let count = bytes.count
        while i < count {
            // Eight bytes at a time: skip words holding nothing that can change the state.
            if i + 8 <= count {
                let word = UInt64(littleEndian: bytes.loadUnaligned(fromByteOffset: i, as: UInt64.self))
                let hits =
                    inString
                    ? Self.bytes(in: word, equalTo: 0x22) | Self.bytes(in: word, equalTo: 0x5C)
                    : Self.bytes(in: word, equalTo: 0x22) | Self.bytes(in: word | Self.caseBits, equalTo: 0x7B)
                        | Self.bytes(in: word | Self.caseBits, equalTo: 0x7D)
                if hits == 0 {
                    i += 8
                    continue
                }
                i += hits.trailingZeroBitCount >> 3
            }
            let c = bytes[i]
            if inString {
                if c == UInt8(ascii: "\\") {
                    i += 2
                    continue
                }
                if c == UInt8(ascii: "\"") {
                    inString = false
                    i += 1
                    if depth == 0 { return i }
                    continue
                }
                i += 1
                continue
            }
            if c == UInt8(ascii: "\"") {
                inString = true
            } else if c == UInt8(ascii: "{") || c == UInt8(ascii: "[") {
                depth += 1
            } else if c == UInt8(ascii: "}") || c == UInt8(ascii: "]") {
                depth -= 1
                if depth == 0 { return i + 1 }
                if depth < 0 { return nil }
            }
            i += 1
        }
        return nil
    }

    /// `0x20` in every byte: `b | 0x20` folds `[`/`]` onto `{`/`}` (and nothing else onto them).
    private static let caseBits: UInt64 = 0x2020_2020_2020_2020

    /// A mask whose lowest set bit is the high bit of the first byte of `word` (little-endian) equal to
    /// `byte`; zero when there is none. Bits above the first hit may be spurious (borrows), so only the
    /// lowest one is meaningful.
    @inline(__always)
    private static func bytes(in word: UInt64, equalTo byte: UInt8) -> UInt64 {
        let x = word ^ (UInt64(byte) &* 0x0101_0101_0101_0101)
        return (x &- 0x0101_0101_0101_0101) & ~x & 0x8080_8080_8080_8080
    }
}
