public import RawJSON

/// Any JSON value, as stored in manifest `metadata` and column statistics: the one JSON value type of the
/// project (``RawJSON/JSONValue``), read and written here as Go's `encoding/json` does.
///
/// Numbers keep their literal text (`.number("1767225600123456789")`), so no precision is lost in Swift; note
/// that Go reads metadata numbers as float64 (LODE_FORMAT.md §8 A9), so write large integers as strings.
///
/// ```swift
/// let metadata: [String: JSONValue] = ["archiver.stream": "orders", "archiver.count": .string("2")]
/// ```
public typealias JSONValue = RawJSON::JSONValue

extension JSONValue {
    /// Parses exactly one JSON value (surrounding whitespace allowed) as Go's `encoding/json` reads it: invalid
    /// UTF-8 and lone surrogates in strings become U+FFFD, nesting up to 10 000. This is how manifests written by
    /// any Lode implementation are read; event data uses the strict `parse(_:maxDepth:)`.
    /// - Throws: ``JSONSyntaxError`` for anything else that is not valid JSON (RFC 8259).
    public static func parseLikeGo(_ bytes: [UInt8]) throws(JSONSyntaxError) -> JSONValue {
        do {
            return try bytes.withUnsafeBytes { raw in try JSONParser.parse(raw) }
        } catch {
            throw error as! JSONSyntaxError  // the only error JSONParser throws
        }
    }

    /// The value serialized like Go's `json.Marshal` (compact; sorted keys; `<`, `>`, `&`, U+2028 and U+2029
    /// escaped).
    public var compactJSON: String {
        var writer = GoJSONWriter()
        writer.write(self, indented: false)
        return String(decoding: writer.bytes, as: UTF8.self)
    }
}

/// Invalid JSON text: what was wrong and at which byte offset.
public struct JSONSyntaxError: Error, Sendable, CustomStringConvertible {
    public var reason: String
    public var offset: Int
    public var description: String { "\(reason) at byte \(offset)" }
}
