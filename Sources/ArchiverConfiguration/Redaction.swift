import Foundation

/// Keeps secrets out of printed configuration, messages and logs.
public enum Redaction {
    /// A value as it may be printed: store URLs lose their secrets, token entries their hash, other secret keys
    /// their whole value.
    public static func value(_ value: String, for key: AnyConfigKey) -> String {
        switch key.name {
        case ConfigKeys.store.name:
            return url(value)
        case ConfigKeys.tokens.name:
            return key.kind.items(value).map { entry in
                guard let parsed = try? APITokenEntry(parsing: entry) else { return "<invalid entry, redacted>" }
                return "\(parsed.name):\(parsed.scopes.map(\.rawValue).sorted().joined(separator: "+")):<redacted>"
            }.joined(separator: " ")
        default:
            return key.isSecret ? "<redacted>" : value
        }
    }

    /// The URL with every secret replaced by `***`: the userinfo password and the value of every query
    /// parameter whose name is a secret (``isSecretParameter(_:)``), however many there are.
    ///
    /// ```swift
    /// Redaction.url("postgres://app:pw@db/x?sslpassword=a&password=b&sslmode=require")
    /// // "postgres://app:***@db/x?sslpassword=***&password=***&sslmode=require"
    /// ```
    public static func url(_ original: String) -> String {
        var text = Substring(original)
        var fragment: Substring = ""
        if let hash = text.firstIndex(of: "#") {
            fragment = text[hash...]
            text = text[..<hash]
        }
        // The query starts after the userinfo, which may itself hold an unescaped `?`; when an `@` belongs to
        // the query instead, more is redacted than needed, never less.
        let queryFrom = text.lastIndex(of: "@") ?? text.startIndex
        var query: Substring?
        if let mark = text[queryFrom...].firstIndex(of: "?") {
            query = text[text.index(after: mark)...]
            text = text[..<mark]
        }
        var result = userInfoRedacted(text)
        if let query { result += "?" + queryRedacted(query) }
        return result + fragment
    }

    /// True for query parameters that carry a secret or name where one is kept (libpq's `password`,
    /// `sslpassword`, `passfile`, `sslkey`; `secret`, `token`, `key` and names containing them).
    public static func isSecretParameter(_ name: some StringProtocol) -> Bool {
        let lowered = name.lowercased()
        return ["pass", "secret", "token", "key", "credential", "signature"].contains { lowered.contains($0) }
    }

    /// `scheme://user:***@host…`: the password is everything between the first `:` of the userinfo and the last
    /// `@` (a password may itself hold an unescaped `@`, `:`, `/` or `?`).
    private static func userInfoRedacted(_ text: Substring) -> String {
        guard let scheme = text.range(of: "://") else { return String(text) }
        let rest = text[scheme.upperBound...]
        guard let at = rest.lastIndex(of: "@") else { return String(text) }
        let userInfo = rest[..<at]
        guard let colon = userInfo.firstIndex(of: ":") else { return String(text) }
        return String(text[..<colon]) + ":***" + String(text[at...])
    }

    private static func queryRedacted(_ query: Substring) -> String {
        query.split(separator: "&", omittingEmptySubsequences: false).map { parameter -> String in
            guard let equals = parameter.firstIndex(of: "="), isSecretParameter(parameter[..<equals]) else {
                return String(parameter)
            }
            return String(parameter[...equals]) + "***"
        }.joined(separator: "&")
    }
}
