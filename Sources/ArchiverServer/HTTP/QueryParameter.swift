import Hummingbird
import HummingbirdCore

/// Checked query parameters and headers: a malformed value is a 422 naming it, never a silent default.
enum QueryParameter {
    typealias Query = FlatDictionary<Substring, Substring>

    /// The integer parameter `name`, `value` when absent, at most `max`.
    static func integer(
        _ query: Query, _ name: Substring, default value: Int64, min: Int64, max: Int64 = .max
    )
        throws -> Int64
    {
        try optionalInteger(query, name, min: min).map { Swift.min($0, max) } ?? value
    }

    /// The integer parameter `name`, nil when absent.
    static func optionalInteger(_ query: Query, _ name: Substring, min: Int64) throws -> Int64? {
        guard let text = query[name] else { return nil }
        guard let n = decimal(text), n >= min else {
            throw APIError(.unprocessableContent, "invalid-input", "query parameter \(name) must be a number ≥ \(min)")
        }
        return n
    }

    /// The boolean parameter `name` (`true` or `false`), false when absent.
    static func flag(_ query: Query, _ name: Substring) throws -> Bool {
        guard let text = query[name] else { return false }
        guard text == "true" || text == "false" else {
            throw APIError(.unprocessableContent, "invalid-input", "query parameter \(name) must be true or false")
        }
        return text == "true"
    }

    /// The seconds parameter `name`, 0 when absent.
    static func seconds(_ query: Query, _ name: Substring) throws -> Double {
        guard let text = query[name] else { return 0 }
        guard let s = Double(text), s >= 0, s.isFinite else {
            throw APIError(.unprocessableContent, "invalid-input", "query parameter \(name) must be seconds ≥ 0")
        }
        return s
    }

    /// A non-negative decimal number of ASCII digits only: `Int64("+1")` and `Int64("-0")` parse, but no
    /// documented form has a sign.
    static func decimal(_ text: some StringProtocol) -> Int64? {
        guard !text.isEmpty, text.utf8.allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }) else {
            return nil
        }
        return Int64(text)
    }
}
