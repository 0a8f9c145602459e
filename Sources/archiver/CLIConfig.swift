import ArchiverConfiguration
import ArgumentParser
import Foundation

/// The configuration below the flags for every command: `ARCHIVER_*` environment variables over the
/// configuration file (`--config`, `ARCHIVER_CONFIG`, or `./archiver.yaml`), over each key's default. Loaded
/// once, before parsing.
enum CLIConfig {
    /// Set by ``load(arguments:)`` before any command runs, then only read.
    nonisolated(unsafe) static var sources = ConfigSources(environment: ProcessInfo.processInfo.environment)
    /// The command line without `--config`, set with ``sources``: `serve` and `config check` take the flags of
    /// every key from it (``ConfigFlags``).
    nonisolated(unsafe) static var arguments: [String] = []

    /// Flag > environment > file > the key's default, checked and typed.
    /// - Throws: `ConfigError` naming the key, the value and where it came from (exit status 64).
    static func value<Value>(_ key: ConfigKey<Value>, flag: String?) throws -> Value {
        try ConfigResolver(sources: sources).with(flag: flag, for: key).value(key)
    }

    /// Flag > environment > file > the key's default, as written and not checked: for values that a command
    /// checks itself with its own message. nil when nothing sets a key without a default.
    static func text<Value>(_ key: ConfigKey<Value>, flag: String?) -> String? {
        ConfigResolver(sources: sources).with(flag: flag, for: key).lookup(key.descriptor)?.value
    }

    /// Flag > environment > file > the key's default, as written and not checked (see ``text(_:flag:)``).
    static func text(_ key: ConfigKey<String>, flag: String?) -> String {
        ConfigResolver(sources: sources).with(flag: flag, for: key).lookup(key.descriptor)?.value ?? key.defaultValue
    }

    /// The value of the key named `name` (see `ConfigKeys.all`) from the environment, the file or its default,
    /// as written; flags are applied by callers. Prefer ``value(_:flag:)``, which is typed and checked.
    /// - Precondition: `name` is a key (a misspelt name stops here instead of reading as unset).
    static func value(_ name: String) -> String? {
        guard let key = ConfigKeys.named(name) else { preconditionFailure("no configuration key \(name)") }
        return ConfigResolver(sources: sources).lookup(key)?.value
    }

    /// Whether the environment or the configuration file sets the key named `name` (its default does not count).
    static func isSet(_ name: String) -> Bool {
        guard let key = ConfigKeys.named(name) else { preconditionFailure("no configuration key \(name)") }
        guard let (_, origin) = ConfigResolver(sources: sources).lookup(key) else { return false }
        return origin != .defaultValue
    }

    /// A number or size key: the flag's value, else the environment's, the file's or the default, checked as
    /// `config check` checks it; sizes in bytes.
    /// - Throws: `ConfigError` naming the key, the value and where it came from (exit status 64).
    static func number(_ name: String, flag: String?) throws -> Int? {
        guard let key = ConfigKeys.named(name) else { preconditionFailure("no configuration key \(name)") }
        let resolver = ConfigResolver(flags: flag.map { [name: $0] } ?? [:], sources: sources)
        guard let (value, origin) = resolver.lookup(key) else { return nil }
        try key.check(value, origin: origin)
        return Int.configValue(value, kind: key.kind)
    }

    /// Takes `--config PATH` / `--config=PATH` out of the arguments (any position, so every command accepts
    /// it) and loads the configuration sources.
    static func load(arguments: inout [String]) throws {
        var path: String?
        var index = 0
        while index < arguments.count {
            let argument = arguments[index]
            if argument == "--" { break }
            if argument == "--config" {
                guard index + 1 < arguments.count else { throw ConfigError("--config needs a file path") }
                path = arguments[index + 1]
                arguments.removeSubrange(index...(index + 1))
            } else if argument.hasPrefix("--config=") {
                path = String(argument.dropFirst("--config=".count))
                arguments.remove(at: index)
            } else {
                index += 1
            }
        }
        sources = try ConfigSources.load(path: path, environment: ProcessInfo.processInfo.environment)
        self.arguments = arguments
    }
}

extension ConfigKey {
    /// The help of the key's flag: its summary, default and environment variable (``AnyConfigKey/help``).
    func help(valueName: String? = nil) -> ArgumentHelp {
        ArgumentHelp(descriptor.help, valueName: valueName)
    }
}
