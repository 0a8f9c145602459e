import Foundation
import Yams

/// The configuration below the command line: `ARCHIVER_*` environment variables over `archiver.yaml`.
///
/// The file is the one named by `--config` or `ARCHIVER_CONFIG`, else `./archiver.yaml` when it exists.
/// Its top level maps key names (see ``ConfigKeys/all``) to scalars, or to lists for list keys; an unknown
/// key or a nested mapping is an error, so a typo never silently falls back to a default. Environment
/// variables are read by key (`ARCHIVER_PORT`); other `ARCHIVER_*` variables are not configuration.
///
/// ```swift
/// let sources = try ConfigSources.load(path: nil, environment: ProcessInfo.processInfo.environment)
/// let port = try ConfigResolver(sources: sources).value(ConfigKeys.port)
/// ```
public struct ConfigSources: Sendable {
    /// The file's values by key name; list values joined by their key's separator.
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
    /// - Throws: ``ConfigError`` naming the file and the offending key (and the known key it most likely meant).
    public static func parse(yaml text: String, origin: String) throws -> [String: String] {
        let document: Any?
        do {
            document = try Yams.load(yaml: text)
        } catch {
            throw ConfigError("\(origin) is not valid YAML (\(oneLine(error))): fix the syntax there")
        }
        guard let document else { return [:] }
        guard let mapping = document as? [String: Any] else {
            throw ConfigError("\(origin): the top level must map keys to values (key: value)")
        }
        var values: [String: String] = [:]
        for (name, value) in mapping.sorted(by: { $0.key < $1.key }) where !sections.contains(name) {
            guard let key = ConfigKeys.named(name) else { throw unknownKey(name, origin: origin) }
            values[name] = try textValue(of: value, for: key, origin: origin)
        }
        return values
    }

    /// Structured sections that their own readers load and check (`upcasters:`: docs/REPLAY.md "Upcasting").
    public static let sections = ["upcasters"]

    /// The error for a key that is not one of ``ConfigKeys/all``, naming the nearest known key.
    static func unknownKey(_ name: String, origin: String) -> ConfigError {
        let hint =
            NearestName.closest(to: name, among: ConfigKeys.all.map(\.name) + sections).map {
                "; did you mean '\($0)'?"
            }
            ?? "; the keys are listed in docs/OPERATIONS.md"
        return ConfigError("unknown key '\(name.prefix(80))' in \(origin)\(hint)")
    }

    /// A scalar as text, a list joined by the key's separator; nil for `key: ~` (unset).
    private static func textValue(of value: Any, for key: AnyConfigKey, origin: String) throws -> String? {
        if let list = value as? [Any] {
            guard case .list(let separator) = key.kind else {
                throw ConfigError("\(origin): '\(key.name)' takes one value, not a list")
            }
            let items = list.compactMap(scalarText)
            guard items.count == list.count else {
                throw ConfigError("\(origin): '\(key.name)' must be a list of plain values")
            }
            return items.joined(separator: String(separator))
        }
        if let scalar = scalarText(value) { return scalar }
        if value is NSNull { return nil }
        throw ConfigError("\(origin): '\(key.name)' must be a plain value" + (key.isList ? " or a list" : ""))
    }

    /// The value of `key` from the environment, else from the file, and where it came from; nil when neither
    /// sets it.
    public func lookup(_ key: AnyConfigKey) -> (value: String, origin: ConfigOrigin)? {
        if let value = environment[key.environmentName], !value.isEmpty {
            return (value, .environment(key.environmentName))
        }
        if let value = file[key.name] { return (value, .file(filePath ?? Self.defaultFileName)) }
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
}

/// A YAML parser error on one line: the parser's own lines (position, problem) without the echoed source line
/// and its caret marker.
private func oneLine(_ error: any Error) -> String {
    let lines = String(describing: error).split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }
    return lines.prefix(2).map { $0.hasSuffix(":") ? String($0.dropLast()) : $0 }.joined(separator: "; ")
}
