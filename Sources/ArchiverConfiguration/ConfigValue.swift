/// A Swift type a configuration key reads its value as.
///
/// Values reach ``configValue(_:kind:)`` already checked against their key's ``ConfigValueKind``, so sizes
/// arrive as `8MiB` and become bytes here, lists arrive joined by their separator and become items.
public protocol ConfigValue: Sendable {
    /// The value written as `text`; nil when it does not read as this type.
    static func configValue(_ text: String, kind: ConfigValueKind) -> Self?
    /// The value of a key that has no default and that nothing sets; nil when the type needs a default.
    static var unsetValue: Self? { get }
}

extension ConfigValue {
    public static var unsetValue: Self? { nil }
}

extension String: ConfigValue {
    public static func configValue(_ text: String, kind: ConfigValueKind) -> String? { text }
}

extension Bool: ConfigValue {
    public static func configValue(_ text: String, kind: ConfigValueKind) -> Bool? {
        switch text {
        case "true": true
        case "false": false
        default: nil
        }
    }
}

extension Int: ConfigValue {
    /// Sizes in bytes; everything else as written.
    public static func configValue(_ text: String, kind: ConfigValueKind) -> Int? {
        switch kind {
        case .size, .boundedSize: ByteSize.parse(text)
        default: Int(text)
        }
    }
}

extension Double: ConfigValue {
    public static func configValue(_ text: String, kind: ConfigValueKind) -> Double? { Double(text) }
}

extension Array: ConfigValue where Element == String {
    public static func configValue(_ text: String, kind: ConfigValueKind) -> [String]? { kind.items(text) }
    /// An unset list is empty.
    public static var unsetValue: [String]? { [] }
}

extension Optional: ConfigValue where Wrapped: ConfigValue {
    public static func configValue(_ text: String, kind: ConfigValueKind) -> Wrapped?? {
        Wrapped.configValue(text, kind: kind).map { .some($0) }
    }
    /// An optional key that nothing sets is nil.
    public static var unsetValue: Wrapped?? { .some(nil) }
}
