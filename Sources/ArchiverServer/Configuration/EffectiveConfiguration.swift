import Foundation

/// Every configuration key with its value after precedence: flags > `ARCHIVER_*` environment >
/// `archiver.yaml` > built-in default. Values are checked when resolved, so a bad value anywhere fails
/// before anything starts.
///
/// ```swift
/// let effective = try EffectiveConfiguration(flags: ["port": "9000"], sources: sources)
/// print(effective.rendered())   // secrets redacted
/// let server = try effective.serverConfiguration()
/// ```
public struct EffectiveConfiguration: Sendable {
    public struct Entry: Sendable {
        public var key: ConfigKey
        /// nil: unset (no default).
        public var value: String?
        public var origin: ConfigOrigin
    }

    public var entries: [Entry]
    public var filePath: String?

    /// - Parameter flags: values given on the command line, by key name (list keys joined by their separator).
    /// - Throws: ``ConfigError`` naming the key, the bad value and where it came from.
    public init(flags: [String: String], sources: ConfigSources) throws {
        filePath = sources.filePath
        entries = []
        for key in ConfigKey.all {
            let entry: Entry
            if let value = flags[key.name] {
                entry = Entry(key: key, value: value, origin: .flag(key.name))
            } else if let (value, origin) = sources.lookup(key.name) {
                entry = Entry(key: key, value: value, origin: origin)
            } else {
                entry = Entry(key: key, value: key.defaultValue, origin: .defaultValue)
            }
            if let value = entry.value { try Self.check(value, for: key, origin: entry.origin) }
            entries.append(entry)
        }
    }

    public func value(_ name: String) -> String? {
        entries.first { $0.key.name == name }?.value
    }

    public func origin(_ name: String) -> ConfigOrigin? {
        entries.first { $0.key.name == name }?.origin
    }

    /// The values of a list key.
    public func list(_ name: String) -> [String] {
        guard let entry = entries.first(where: { $0.key.name == name }), let value = entry.value else { return [] }
        return Self.split(value, key: entry.key)
    }

    /// One `key: value  # origin` line per key, secrets redacted; valid YAML for an `archiver.yaml`.
    public func rendered() -> String {
        var lines = ["# effective configuration (flags > environment > \(filePath ?? "no file") > defaults)"]
        for entry in entries {
            let value = entry.value.map { Redaction.value($0, for: entry.key) }
            if entry.key.isList {
                let items = value.map { Self.split($0, key: entry.key) } ?? []
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

    static func split(_ value: String, key: ConfigKey) -> [String] {
        guard case .list(let separator) = key.kind else { return [value] }
        let separators: Set<Character> = separator == " " ? [" ", "\n", "\t", ","] : [separator]
        return value.split(whereSeparator: { separators.contains($0) }).map(String.init)
    }

    private static func quoted(_ value: String) -> String {
        let plain = value.allSatisfy { $0.isLetter || $0.isNumber || "-_./:+@*".contains($0) }
        guard !plain || value.isEmpty else { return value }
        return "\"" + value.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"")
            + "\""
    }

    /// Checks one value of `key` the way every resolved value is checked.
    ///
    /// Commands that read a key themselves (the S3 options of every archive command) call this too, so a bad
    /// value gets the same one-line message wherever it is used.
    ///
    /// ```swift
    /// try EffectiveConfiguration.check("0", for: ConfigKey.named("s3-upload-concurrency")!, origin: .flag("s3-upload-concurrency"))
    /// // ConfigError: s3-upload-concurrency: '0' is not a whole number from 1 to 64 (from flag --s3-upload-concurrency)
    /// ```
    /// - Throws: ``ConfigError`` naming the key, the value and its origin.
    public static func check(_ value: String, for key: ConfigKey, origin: ConfigOrigin) throws {
        func bad(_ expected: String) -> ConfigError {
            ConfigError("\(key.name): '\(value.prefix(80))' is not \(expected) (from \(origin))")
        }
        switch key.kind {
        case .text, .list:
            break
        case .choice(let values):
            guard values.contains(value) else { throw bad(values.joined(separator: ", ")) }
        case .count:
            guard let n = Int(value), n >= 0 else { throw bad("a whole number ≥ 0") }
        case .port:
            guard let n = Int(value), (0...65_535).contains(n) else { throw bad("a port number (0...65535)") }
        case .seconds:
            guard let s = Double(value), s >= 0, s.isFinite else { throw bad("a number of seconds ≥ 0") }
        case .size:
            guard let n = ByteSize.parse(value), n > 0 else { throw bad("a size such as 8MiB, 512KiB or 1000000") }
        case .boundedCount(let range):
            guard let n = Int(value), range.contains(n) else {
                throw bad("a whole number from \(range.lowerBound) to \(range.upperBound)")
            }
        case .boundedSize(let range):
            guard let n = ByteSize.parse(value), range.contains(n) else {
                throw bad(
                    "a size from \(ByteSize.binaryText(range.lowerBound)) to \(ByteSize.binaryText(range.upperBound))")
            }
        }
        if key.name == "tokens" {
            for entry in split(value, key: key) {
                do {
                    _ = try APITokenEntry(parsing: entry)
                } catch let error as ConfigError {
                    throw ConfigError("tokens: \(error.message) (from \(origin))")
                }
            }
        }
    }
}
