import Foundation

/// Keeps secrets out of printed configuration, messages and logs.
public enum Redaction {
    /// A value as it may be printed: store URLs lose their password, token entries their hash.
    public static func value(_ value: String, for key: ConfigKey) -> String {
        switch key.name {
        case "store": return url(value)
        case "tokens":
            return EffectiveConfiguration.split(value, key: key).map { entry in
                guard let parsed = try? APITokenEntry(parsing: entry) else { return "<invalid entry, redacted>" }
                return "\(parsed.name):\(parsed.scopes.map(\.rawValue).sorted().joined(separator: "+")):<redacted>"
            }.joined(separator: " ")
        default: return key.isSecret ? "<redacted>" : value
        }
    }

    /// The URL without its password (userinfo and a `password=` parameter), for messages.
    public static func url(_ original: String) -> String {
        var url = original
        if let query = url.range(of: "password=") {
            let end = url[query.upperBound...].firstIndex(of: "&") ?? url.endIndex
            url = String(url[..<query.upperBound]) + "***" + String(url[end...])
        }
        guard let at = url.firstIndex(of: "@"), let scheme = url.range(of: "://") else { return url }
        let userInfo = url[scheme.upperBound..<at]
        guard let colon = userInfo.firstIndex(of: ":") else { return url }
        return String(url[..<colon]) + ":***" + String(url[at...])
    }
}
