/// A configuration key whose value reads as `Value`: `ConfigKey<Int>` for a port, `ConfigKey<String?>` for a key
/// without a default, `ConfigKey<[String]>` for a list.
///
/// The default is written once, as text, in the key (``AnyConfigKey/defaultText``); the typed
/// ``defaultValue``, the help texts and `archiver config check` all derive from it.
///
/// ```swift
/// let port: Int = try resolver.value(ConfigKeys.port)   // flag > environment > file > 8080
/// ```
public struct ConfigKey<Value: ConfigValue>: Sendable {
    public let descriptor: AnyConfigKey
    /// The value when nothing sets the key.
    public let defaultValue: Value

    /// - Precondition: a key whose type has no unset value (not optional, not a list) has a default that reads
    ///   as `Value`; `ConfigKeysTests` checks every key.
    public init(
        _ name: String, _ kind: ConfigValueKind, default defaultText: String? = nil, unset unsetMeaning: String? = nil,
        secret: Bool = false, flag: String? = nil, fallbacks: [String] = [], _ summary: String
    ) {
        descriptor = AnyConfigKey(
            name, kind, default: defaultText, unset: unsetMeaning, secret: secret, flag: flag,
            fallbacks: fallbacks, summary)
        guard let value = defaultText.flatMap({ Value.configValue($0, kind: kind) }) ?? Value.unsetValue else {
            preconditionFailure("configuration key \(name) needs a default that reads as \(Value.self)")
        }
        defaultValue = value
    }

    public var name: String { descriptor.name }

    /// Checks `text` and reads it as `Value`.
    /// - Throws: ``ConfigError`` naming the key, the value and `origin`.
    public func value(_ text: String, origin: ConfigOrigin) throws -> Value {
        try descriptor.check(text, origin: origin)
        guard let value = Value.configValue(text, kind: descriptor.kind) else {
            throw ConfigError("\(name): '\(text.prefix(80))' cannot be read (from \(origin))")
        }
        return value
    }
}
