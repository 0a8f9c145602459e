#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Iterates the top-level members of one JSON object without building a tree: each member's key and value
/// are byte ranges into the input. Nested values are skipped (and validated) quickly.
///
/// ```swift
/// var scanner = try ObjectScanner(line)
/// while let member = try scanner.next() {
///     if scanner.key(member, equals: "amount") { total += scanner.double(member) ?? 0 }
/// }
/// ```
public struct ObjectScanner {
    /// One member: `key` is the range inside the quotes (still escaped); `value` the value's exact bytes.
    public struct Member: Sendable, Hashable {
        public var key: Range<Int>
        public var value: Range<Int>
    }

    public let bytes: UnsafeRawBufferPointer
    private var scanner: JSONScanner
    private var finished = false

    /// - Throws: ``RawJSONError`` if the input does not start with `{`.
    public init(_ bytes: UnsafeRawBufferPointer, maxDepth: Int = 512) throws(RawJSONError) {
        self.bytes = bytes
        scanner = JSONScanner(bytes, maxDepth: maxDepth)
        scanner.skipWhitespace()
        guard scanner.index < bytes.count, bytes[scanner.index] == UInt8(ascii: "{") else {
            throw scanner.fail("expected a JSON object")
        }
        scanner.index += 1
        scanner.skipWhitespace()
        if scanner.index < bytes.count && bytes[scanner.index] == UInt8(ascii: "}") {
            scanner.index += 1
            try finish()
        }
    }

    /// The next member, or nil after the closing brace (then the rest of the input must be whitespace).
    public mutating func next() throws(RawJSONError) -> Member? {
        if finished { return nil }
        scanner.skipWhitespace()
        guard scanner.index < bytes.count, bytes[scanner.index] == UInt8(ascii: "\"") else {
            throw scanner.fail("expected a string key in object")
        }
        let keyStart = scanner.index + 1
        try scanner.skipString()
        let key = keyStart..<(scanner.index - 1)
        scanner.skipWhitespace()
        guard scanner.index < bytes.count, bytes[scanner.index] == UInt8(ascii: ":") else {
            throw scanner.fail("expected ':' after key")
        }
        scanner.index += 1
        let value = try scanner.skipValue(depth: 1)
        scanner.skipWhitespace()
        guard scanner.index < bytes.count else { throw scanner.fail("unexpected end of input in object") }
        if bytes[scanner.index] == UInt8(ascii: ",") {
            scanner.index += 1
        } else if bytes[scanner.index] == UInt8(ascii: "}") {
            scanner.index += 1
            try finish()
        } else {
            throw scanner.fail("expected ',' or '}' in object")
        }
        return Member(key: key, value: value)
    }

    private mutating func finish() throws(RawJSONError) {
        finished = true
        scanner.skipWhitespace()
        guard scanner.index == bytes.count else { throw scanner.fail("unexpected text after the object") }
    }

    /// True when the member's key is exactly `name` (compared as raw bytes: right for keys without escapes).
    public func key(_ member: Member, equals name: StaticString) -> Bool {
        let count = name.utf8CodeUnitCount
        guard member.key.count == count else { return false }
        let base = name.utf8Start
        for i in 0..<count where bytes[member.key.lowerBound + i] != base[i] { return false }
        return true
    }

    /// True when the member's key is exactly `name`, escapes resolved.
    public func key(_ member: Member, equals name: String) -> Bool {
        let raw = UnsafeRawBufferPointer(rebasing: bytes[member.key])
        if !raw.contains(UInt8(ascii: "\\")) {
            guard raw.count == name.utf8.count else { return false }
            return name.utf8.withContiguousStorageIfAvailable { name in
                raw.count == 0 || memcmp(raw.baseAddress!, name.baseAddress!, raw.count) == 0
            } ?? raw.elementsEqual(name.utf8)
        }
        return (try? keyString(member)) == name
    }

    /// The member's key, escapes resolved.
    public func keyString(_ member: Member) throws(RawJSONError) -> String {
        try RawJSON.decodeString(
            UnsafeRawBufferPointer(rebasing: bytes[(member.key.lowerBound - 1)..<(member.key.upperBound + 1)]))
    }

    /// The member's value bytes.
    public func value(_ member: Member) -> UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(rebasing: bytes[member.value])
    }

    /// The value as a string, if it is one.
    public func string(_ member: Member) -> String? {
        let v = value(member)
        guard v.first == UInt8(ascii: "\"") else { return nil }
        return try? RawJSON.decodeString(v)
    }

    /// The value as a Double, if it is a number.
    public func double(_ member: Member) -> Double? { RawJSON.parseDouble(value(member)) }

    /// The value as an Int64, if it is an integral number in range.
    public func int64(_ member: Member) -> Int64? { RawJSON.parseInt64(value(member)) }
}
