import Foundation

/// What every configuration key has, whatever type its value reads as: the same name in `archiver.yaml`, as an
/// `ARCHIVER_*` environment variable and as a `--flag`, one default, and how a value is checked.
///
/// ```swift
/// ConfigKeys.flushInterval.descriptor.environmentName  // "ARCHIVER_FLUSH_INTERVAL"
/// ```
public struct AnyConfigKey: Sendable, Hashable {
    /// The key as written in `archiver.yaml` (`flush-interval`).
    public let name: String
    public let kind: ConfigValueKind
    /// The value when nothing sets the key, as people write it (`8MiB`); nil when it stays unset.
    public let defaultText: String?
    /// What happens when a key without a default stays unset (`HOST/PID`), for help texts.
    public let unsetMeaning: String?
    /// Values that are redacted when printed (token hashes; passwords in store URLs).
    public let isSecret: Bool
    /// What the key sets, one phrase without a final period: the flag's help text starts with it.
    public let summary: String
    /// The flag's name when it differs from the key's (`--token` for `tokens`).
    public let flagName: String
    /// Where the key's users look after this key (`AWS_REGION`), for help texts.
    public let fallbacks: [String]

    public init(
        _ name: String, _ kind: ConfigValueKind, default defaultText: String? = nil, unset unsetMeaning: String? = nil,
        secret: Bool = false, flag: String? = nil, fallbacks: [String] = [], _ summary: String
    ) {
        self.name = name
        self.kind = kind
        self.defaultText = defaultText
        self.unsetMeaning = unsetMeaning
        self.isSecret = secret
        self.flagName = flag ?? name
        self.fallbacks = fallbacks
        self.summary = summary
    }

    /// `ARCHIVER_` and the name in upper case with `_` for `-`.
    public var environmentName: String {
        "ARCHIVER_" + name.uppercased().replacingOccurrences(of: "-", with: "_")
    }

    /// The key in `archiver.yaml`: its name.
    public var yamlKey: String { name }

    public var isList: Bool { kind.isList }

    /// The flag's help: the summary, the default and the environment variables, all from the key.
    ///
    /// ```swift
    /// ConfigKeys.port.descriptor.help
    /// // "TCP port; 0 picks a free one, printed on stdout (default 8080). Also ARCHIVER_PORT."
    /// ```
    public var help: String {
        var text = summary
        if let shown = defaultText ?? unsetMeaning { text += " (default \(shown))" }
        var variables = environmentName
        if case .list(let separator) = kind {
            variables += separator == " " ? " (space-separated)" : separator == ":" ? " (colon-separated)" : ""
        }
        return text + ". Also " + ([variables] + fallbacks).joined(separator: ", ") + "."
    }

    /// Checks one value of this key the way every resolved value is checked.
    ///
    /// ```swift
    /// try ConfigKeys.s3UploadConcurrency.descriptor.check("0", origin: .flag("s3-upload-concurrency"))
    /// // ConfigError: s3-upload-concurrency: '0' is not a whole number from 1 to 64 (from flag --s3-upload-concurrency)
    /// ```
    /// - Throws: ``ConfigError`` naming the key, the value and its origin (a secret's value is not repeated).
    public func check(_ value: String, origin: ConfigOrigin) throws {
        if let expected = kind.problem(with: value) {
            let shown = isSecret ? "<redacted>" : String(value.prefix(80))
            throw ConfigError("\(name): '\(shown)' is not \(expected) (from \(origin))")
        }
        if name == ConfigKeys.tokens.name {
            for entry in kind.items(value) {
                do {
                    _ = try APITokenEntry(parsing: entry)
                } catch let error as ConfigError {
                    throw ConfigError("tokens: \(error.message) (from \(origin))")
                }
            }
        }
    }
}
