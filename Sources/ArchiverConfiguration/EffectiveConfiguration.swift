import Foundation

/// Every configuration key with its value after precedence (see ``ConfigResolver``), all checked: what
/// `archiver config check` prints. A bad value anywhere fails before anything starts.
///
/// ```swift
/// let effective = try EffectiveConfiguration(flags: ["port": "9000"], sources: sources)
/// print(effective.rendered())   // secrets redacted
/// let server = try effective.resolver.serverConfiguration()
/// ```
public struct EffectiveConfiguration: Sendable {
    public struct Entry: Sendable {
        public var key: AnyConfigKey
        /// nil: unset (no default).
        public var value: String?
        public var origin: ConfigOrigin
    }

    public let resolver: ConfigResolver
    /// One entry per key of ``ConfigKeys/all``, in that order.
    public let entries: [Entry]

    /// - Throws: ``ConfigError`` naming the first key with a bad value, the value and where it came from.
    public init(resolver: ConfigResolver) throws {
        self.resolver = resolver
        entries = try ConfigKeys.all.map { key in
            guard let (value, origin) = resolver.lookup(key) else {
                return Entry(key: key, value: nil, origin: .defaultValue)
            }
            try key.check(value, origin: origin)
            return Entry(key: key, value: value, origin: origin)
        }
    }

    /// - Parameter flags: values given on the command line, by key name (list keys joined by their separator).
    public init(flags: [String: String], sources: ConfigSources) throws {
        try self.init(resolver: ConfigResolver(flags: flags, sources: sources))
    }

    public var filePath: String? { resolver.sources.filePath }

    /// The entry of `key`.
    public func entry<Value>(_ key: ConfigKey<Value>) -> Entry {
        guard let entry = entries.first(where: { $0.key == key.descriptor }) else {
            preconditionFailure("\(key.name) is missing from ConfigKeys.all")
        }
        return entry
    }

    /// The typed value of `key` (already checked).
    public func value<Value>(_ key: ConfigKey<Value>) throws -> Value { try resolver.value(key) }

    /// The settings of `archiver serve`.
    public func serverConfiguration() throws -> ServerConfiguration { try resolver.serverConfiguration() }

    /// One `key: value  # origin` line per key, secrets redacted; valid YAML for an `archiver.yaml`.
    public func rendered() -> String {
        var lines = ["# effective configuration (flags > environment > \(filePath ?? "no file") > defaults)"]
        for entry in entries {
            let value = entry.value.map { Redaction.value($0, for: entry.key) }
            if entry.key.isList {
                let items = value.map(entry.key.kind.items) ?? []
                if items.isEmpty {
                    lines.append("\(entry.key.name): []  # \(entry.origin)")
                } else {
                    lines.append("\(entry.key.name):  # \(entry.origin)")
                    lines.append(contentsOf: items.map { "  - \(Self.quoted($0))" })
                }
            } else if let value {
                lines.append("\(entry.key.name): \(Self.quoted(value))  # \(entry.origin)")
            } else {
                lines.append("# \(entry.key.name): (unset)")
            }
        }
        return lines.joined(separator: "\n")
    }

    private static func quoted(_ value: String) -> String {
        let plain = value.allSatisfy { $0.isLetter || $0.isNumber || "-_./:+@*".contains($0) }
        guard !plain || value.isEmpty else { return value }
        return "\"" + value.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"")
            + "\""
    }
}
