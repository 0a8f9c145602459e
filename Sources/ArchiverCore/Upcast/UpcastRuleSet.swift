import Basics
import Crypto
import Foundation
import RawJSON

/// The upcasters of one replay, read or export: rules in order, the metadata key holding the schema version,
/// and optionally an `--upcast-exec` command that sees the rules' output.
///
/// Its ``hash`` names it: aggregate snapshots, `/metrics` and export bundles record it, so state or views made
/// under other rules are never mixed with these.
///
/// ```swift
/// let rules = try UpcastRuleSet(yaml: text, source: "upcasters.yaml")
/// print(rules.hash)   // 64 hex digits
/// ```
public struct UpcastRuleSet: Sendable, Hashable {
    /// The metadata key read as the schema version when it is not configured.
    public static let defaultVersionKey = "schema_version"

    public var versionKey: String
    public var rules: [UpcastRule]
    /// Declared target versions per type: `upcast check` reports observed versions the rules do not bring there.
    public var targets: [String: Int64]
    /// A child process run after the rules (`--upcast-exec`), speaking the `replay --exec` protocol.
    public var exec: String?

    public init(
        rules: [UpcastRule] = [], versionKey: String = Self.defaultVersionKey, targets: [String: Int64] = [:],
        exec: String? = nil
    ) {
        self.rules = rules
        self.versionKey = versionKey
        self.targets = targets
        self.exec = exec
    }

    /// No rules and no command: events are presented as archived.
    public var isEmpty: Bool { rules.isEmpty && exec == nil }

    /// The canonical JSON form: compact, keys sorted by UTF-8 bytes, rules and steps in order. Targets are left
    /// out (they change no event).
    public var canonicalJSON: String {
        var top: [String: JSONValue] = [
            "version_key": .string(versionKey),
            "rules": .array(
                rules.map { rule in
                    var members: [String: JSONValue] = [
                        "name": .string(rule.name), "type": .string(rule.type),
                        "steps": .array(rule.steps.map(\.canonical)),
                    ]
                    if let version = rule.version { members["version"] = .number(String(version)) }
                    return .object(members)
                }),
        ]
        if let exec { top["exec"] = .string(exec) }
        return JSONValue.object(top).serializedString
    }

    /// SHA-256 of ``canonicalJSON``, 64 lowercase hex digits.
    public var hash: String {
        LowercaseHex.encode(SHA256.hash(data: Array(canonicalJSON.utf8)))
    }

    /// ``hash`` when there is anything to apply, nil otherwise (the identity of "no upcasting").
    public var identity: String? { isEmpty ? nil : hash }
}
