/// Any JSON value, as stored in manifest `metadata` and column statistics.
///
/// Numbers keep their literal text (`.number("1767225600123456789")`), so no precision is lost in Swift; note
/// that Go reads metadata numbers as float64 (LODE_FORMAT.md §8 A9), so write large integers as strings.
/// Objects are dictionaries; the serializer sorts their keys by UTF-8 bytes like Go's `encoding/json`.
///
/// ```swift
/// let metadata: [String: JSONValue] = ["archiver.stream": "orders", "archiver.count": .string("2")]
/// ```
public enum JSONValue: Sendable, Hashable {
    case null
    case bool(Bool)
    /// A JSON number, as its literal text (e.g. `-1.5e3`).
    case number(String)
    case string(String)
    case array([JSONValue])
    case object([String: JSONValue])

    /// Parses exactly one JSON value (surrounding whitespace allowed).
    /// - Throws: ``JSONSyntaxError`` for anything that is not valid JSON (RFC 8259).
    public static func parse(_ bytes: [UInt8]) throws(JSONSyntaxError) -> JSONValue {
        do {
            return try bytes.withUnsafeBytes { raw in try JSONParser.parse(raw) }
        } catch {
            throw error as! JSONSyntaxError  // the only error JSONParser throws
        }
    }

    /// Parses exactly one JSON value from `text`.
    public static func parse(_ text: String) throws(JSONSyntaxError) -> JSONValue {
        try parse(Array(text.utf8))
    }

    /// The value serialized like Go's `json.Marshal` (compact; sorted keys; `<`, `>`, `&`, U+2028 and U+2029
    /// escaped).
    public var compactJSON: String {
        var writer = GoJSONWriter()
        writer.write(self, indented: false)
        return String(decoding: writer.bytes, as: UTF8.self)
    }

    /// The string, when this is a `.string`.
    public var stringValue: String? {
        if case .string(let value) = self { return value }
        return nil
    }
}

extension JSONValue: ExpressibleByStringLiteral, ExpressibleByBooleanLiteral, ExpressibleByIntegerLiteral,
    ExpressibleByNilLiteral, ExpressibleByArrayLiteral, ExpressibleByDictionaryLiteral
{
    public init(stringLiteral value: String) { self = .string(value) }
    public init(booleanLiteral value: Bool) { self = .bool(value) }
    public init(integerLiteral value: Int64) { self = .number(String(value)) }
    public init(nilLiteral: ()) { self = .null }
    public init(arrayLiteral elements: JSONValue...) { self = .array(elements) }
    public init(dictionaryLiteral elements: (String, JSONValue)...) {
        var object: [String: JSONValue] = [:]
        for (key, value) in elements { object[key] = value }
        self = .object(object)
    }
}

/// Invalid JSON text: what was wrong and at which byte offset.
public struct JSONSyntaxError: Error, Sendable, CustomStringConvertible {
    public var reason: String
    public var offset: Int
    public var description: String { "\(reason) at byte \(offset)" }
}
