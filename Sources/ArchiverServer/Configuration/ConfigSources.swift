import Foundation
import Yams

/// The configuration below the command line: `ARCHIVER_*` environment variables over `archiver.yaml`.
///
/// The file is the one named by `--config` or `ARCHIVER_CONFIG`, else `./archiver.yaml` when it exists.
/// Its top level maps key names (see ``ConfigKey/all``) to scalars, or to lists for list keys; an unknown
/// key or a nested mapping is an error, so a typo never silently falls back to a default.
///
/// ```swift
/// let sources = try ConfigSources.load(path: nil, environment: ProcessInfo.processInfo.environment)
/// let store = flags.store ?? sources.value(for: "store") ?? "./archiver.db"
/// ```
public struct ConfigSources: Sendable {
    /// The file's values; list values joined by their key's separator.
    public var file: [String: String]
    /// The file that was read (nil: none).
    public var filePath: String?
    public var environment: [String: String]

    public init(file: [String: String] = [:], filePath: String? = nil, environment: [String: String] = [:]) {
        self.file = file
        self.filePath = filePath
        self.environment = environment
    }

    /// The default file name looked for in the working directory.
    public static let defaultFileName = "archiver.yaml"

    /// Reads the configuration file (if any) and keeps the environment.
    /// - Parameter path: `--config`; nil falls back to `ARCHIVER_CONFIG`, then `./archiver.yaml` if present.
    /// - Throws: ``ConfigError`` when a named file is missing, or the file is not valid YAML or has unknown keys.
    public static func load(path: String?, environment: [String: String]) throws -> ConfigSources {
        let named = path ?? environment["ARCHIVER_CONFIG"].flatMap { $0.isEmpty ? nil : $0 }
        let filePath: String
        if let named {
            guard FileManager.default.fileExists(atPath: named) else {
                throw ConfigError("configuration file \(named) does not exist (from --config or ARCHIVER_CONFIG)")
            }
            filePath = named
        } else if FileManager.default.fileExists(atPath: defaultFileName) {
            filePath = defaultFileName
        } else {
            return ConfigSources(environment: environment)
        }
        guard let data = FileManager.default.contents(atPath: filePath) else {
            throw ConfigError("cannot read configuration file \(filePath)")
        }
        let file = try parse(yaml: String(decoding: data, as: UTF8.self), origin: filePath)
        return ConfigSources(file: file, filePath: filePath, environment: environment)
    }

    /// Parses the text of an `archiver.yaml`.
    /// - Throws: ``ConfigError`` naming the file and the offending key.
    public static func parse(yaml text: String, origin: String) throws -> [String: String] {
        let document: Any?
        do {
            document = try Yams.load(yaml: text)
        } catch {
            throw ConfigError("\(origin) is not valid YAML: \(error)")
        }
        guard let document else { return [:] }
        guard let mapping = document as? [String: Any] else {
            throw ConfigError("\(origin): the top level must map keys to values (key: value)")
        }
        var values: [String: String] = [:]
        for (name, value) in mapping {
            guard let key = ConfigKey.named(name) else {
                throw ConfigError("\(origin): unknown key '\(name)'" + suggestion(for: name))
            }
            if let list = value as? [Any] {
                guard case .list(let separator) = key.kind else {
                    throw ConfigError("\(origin): '\(name)' takes one value, not a list")
                }
                var items: [String] = []
                for item in list {
                    guard let scalar = scalarText(item) else {
                        throw ConfigError("\(origin): '\(name)' must be a list of plain values")
                    }
                    items.append(scalar)
                }
                values[name] = items.joined(separator: String(separator))
            } else if let scalar = scalarText(value) {
                values[name] = scalar
            } else if value is NSNull {
                continue
            } else {
                throw ConfigError("\(origin): '\(name)' must be a plain value" + (key.isList ? " or a list" : ""))
            }
        }
        return values
    }

    /// The value of `key` from the environment, else from the file; nil when neither sets it.
    public func value(for key: String) -> String? {
        lookup(key)?.value
    }

    /// The value of `key` and where it came from.
    public func lookup(_ key: String) -> (value: String, origin: ConfigOrigin)? {
        let envName = ConfigKey.named(key)?.environmentName ?? "ARCHIVER_" + key.uppercased()
        if let value = environment[envName], !value.isEmpty { return (value, .environment(envName)) }
        if let value = file[key] { return (value, .file(filePath ?? Self.defaultFileName)) }
        return nil
    }

    private static func scalarText(_ value: Any) -> String? {
        switch value {
        case let s as String: s
        case let b as Bool: b ? "true" : "false"
        case let i as Int: String(i)
        case let d as Double: d == d.rounded() && abs(d) < 1e15 ? String(Int64(d)) : String(d)
        default: nil
        }
    }

    private static func suggestion(for name: String) -> String {
        let close = ConfigKey.all.map(\.name).min { distance($0, name) < distance($1, name) }
        guard let close, distance(close, name) <= 3 else { return "" }
        return "; did you mean '\(close)'?"
    }

    private static func distance(_ a: String, _ b: String) -> Int {
        let a = Array(a)
        let b = Array(b)
        var row = Array(0...b.count)
        for i in 1...max(a.count, 1) where !a.isEmpty {
            var previous = row[0]
            row[0] = i
            for j in 1...max(b.count, 1) where !b.isEmpty {
                let saved = row[j]
                row[j] = min(row[j] + 1, row[j - 1] + 1, previous + (a[i - 1] == b[j - 1] ? 0 : 1))
                previous = saved
            }
        }
        return row[b.count]
    }
}

/// Where a configuration value came from, in precedence order.
public enum ConfigOrigin: Sendable, Hashable, CustomStringConvertible {
    case flag(String)
    case environment(String)
    case file(String)
    case defaultValue

    public var description: String {
        switch self {
        case .flag(let name): "flag --\(name)"
        case .environment(let name): "environment \(name)"
        case .file(let path): "file \(path)"
        case .defaultValue: "default"
        }
    }
}

/// A configuration problem: an unknown key, a bad value, a missing file.
public struct ConfigError: Error, Sendable, CustomStringConvertible {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}
