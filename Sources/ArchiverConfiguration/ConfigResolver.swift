/// The one place where precedence is decided: flag > `ARCHIVER_*` environment > `archiver.yaml` > the key's
/// default. Every value is checked against its key, so a bad value fails with one line naming the key, the
/// value and where it came from.
///
/// ```swift
/// let resolver = ConfigResolver(flags: ["port": "9000"], sources: sources)
/// let port = try resolver.value(ConfigKeys.port)          // 9000, from the flag
/// let deadline = try resolver.value(ConfigKeys.shutdownDeadline)  // 25.0 unless set
/// ```
public struct ConfigResolver: Sendable {
    /// Values given on the command line, by key name (list keys joined by their separator).
    public var flags: [String: String]
    public var sources: ConfigSources

    /// - Precondition: every name in `flags` is a key of ``ConfigKeys/all``.
    public init(flags: [String: String] = [:], sources: ConfigSources) {
        for name in flags.keys where ConfigKeys.named(name) == nil {
            preconditionFailure("no configuration key \(name)")
        }
        self.flags = flags
        self.sources = sources
    }

    /// The value of `key` as written and where it came from, the default included; nil when nothing sets a key
    /// that has no default. Not checked: see ``value(_:)``.
    public func lookup(_ key: AnyConfigKey) -> (value: String, origin: ConfigOrigin)? {
        if let value = flags[key.name] { return (value, .flag(key.flagName)) }
        if let found = sources.lookup(key) { return found }
        return key.defaultText.map { ($0, .defaultValue) }
    }

    /// The value of `key` after precedence, checked and typed; the key's default when nothing sets it.
    /// - Throws: ``ConfigError`` naming the key, the bad value and its origin.
    public func value<Value>(_ key: ConfigKey<Value>) throws -> Value {
        guard let (text, origin) = lookup(key.descriptor), origin != .defaultValue else { return key.defaultValue }
        return try key.value(text, origin: origin)
    }

    /// The same resolver with `value` given as the flag of `key` (nil: no flag).
    public func with<Value>(flag value: String?, for key: ConfigKey<Value>) -> ConfigResolver {
        var copy = self
        copy.flags[key.name] = value
        return copy
    }
}
