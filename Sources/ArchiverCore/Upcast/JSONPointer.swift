public import RawJSON

/// An RFC 6901 JSON pointer into an event's `data`, as upcaster steps use it.
///
/// Tokens address object members only: a step whose path runs through an array or a scalar does not apply
/// (docs/REPLAY.md "Upcasting"). `~1` stands for `/` and `~0` for `~` inside a token.
public struct JSONPointer: Sendable, Hashable, CustomStringConvertible {
    public let tokens: [String]
    /// The pointer as written, e.g. `/address/street`.
    public let description: String

    /// - Throws: a message (no rule context) when `text` is not a pointer to a member: it must start with `/`,
    ///   and `~` must be followed by `0` or `1`.
    public init(parsing text: String) throws(UpcastRuleError) {
        guard text.hasPrefix("/") else {
            throw UpcastRuleError("'\(text)' is not a JSON pointer: it must start with '/' (e.g. /address/street)")
        }
        var tokens: [String] = []
        for raw in text.dropFirst().split(separator: "/", omittingEmptySubsequences: false) {
            var token = ""
            var escaped = false
            for ch in raw {
                if escaped {
                    guard ch == "0" || ch == "1" else {
                        throw UpcastRuleError("'\(text)' is not a JSON pointer: '~' must be followed by 0 or 1")
                    }
                    token.append(ch == "0" ? "~" : "/")
                    escaped = false
                } else if ch == "~" {
                    escaped = true
                } else {
                    token.append(ch)
                }
            }
            guard !escaped else { throw UpcastRuleError("'\(text)' is not a JSON pointer: it ends in a lone '~'") }
            tokens.append(token)
        }
        self.tokens = tokens
        self.description = text
    }

    /// True when `other` addresses this member or one inside it.
    public func contains(_ other: JSONPointer) -> Bool {
        other.tokens.count >= tokens.count && Array(other.tokens.prefix(tokens.count)) == tokens
    }

    /// The value at this pointer, if every step is an object member.
    public func value(in root: JSONValue) -> JSONValue? { Self.value(tokens[...], in: root) }

    static func value(_ tokens: ArraySlice<String>, in root: JSONValue) -> JSONValue? {
        var current = root
        for token in tokens {
            guard case .object(let members) = current, let next = members[token] else { return nil }
            current = next
        }
        return current
    }

    /// `root` with `value` at this pointer, creating missing parent objects; nil when a parent is not an object.
    public func setting(_ value: JSONValue, in root: JSONValue) -> JSONValue? {
        Self.set(value, tokens[...], in: root)
    }

    static func set(_ value: JSONValue, _ tokens: ArraySlice<String>, in node: JSONValue?) -> JSONValue? {
        guard let token = tokens.first else { return value }
        var members: [String: JSONValue]
        switch node {
        case .none: members = [:]
        case .object(let existing)?: members = existing
        default: return nil
        }
        guard let child = set(value, tokens.dropFirst(), in: members[token]) else { return nil }
        members[token] = child
        return .object(members)
    }

    /// `root` without the member at this pointer (unchanged when it is absent).
    public func removing(from root: JSONValue) -> JSONValue {
        Self.remove(tokens[...], from: root)
    }

    static func remove(_ tokens: ArraySlice<String>, from node: JSONValue) -> JSONValue {
        guard let token = tokens.first, case .object(var members) = node, let child = members[token] else {
            return node
        }
        if tokens.count == 1 {
            members.removeValue(forKey: token)
        } else {
            members[token] = remove(tokens.dropFirst(), from: child)
        }
        return .object(members)
    }
}
