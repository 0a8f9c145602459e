import ArchiverServer
import Foundation

/// The configuration below the flags for every command: `ARCHIVER_*` environment variables over the
/// configuration file (`--config`, `ARCHIVER_CONFIG`, or `./archiver.yaml`). Loaded once, before parsing.
enum CLIConfig {
    /// Set by ``load(arguments:)`` before any command runs, then only read.
    nonisolated(unsafe) static var sources = ConfigSources(environment: ProcessInfo.processInfo.environment)

    /// The value of a key (see `ConfigKey.all`) from the environment or the file; flags are applied by callers.
    static func value(_ key: String) -> String? {
        sources.value(for: key)
    }

    /// A number or size key (``ConfigKey/Kind/boundedCount(_:)``, ``ConfigKey/Kind/boundedSize(_:)``, …): the
    /// flag's value, else the environment's or the file's, checked as `config check` checks it; sizes in bytes.
    /// - Throws: `ConfigError` naming the key, the value and where it came from (exit status 64).
    static func number(_ name: String, flag: String?) throws -> Int? {
        guard let key = ConfigKey.named(name) else { preconditionFailure("no configuration key \(name)") }
        let found: (value: String, origin: ConfigOrigin)? = flag.map { ($0, .flag(name)) } ?? sources.lookup(name)
        guard let (value, origin) = found else { return nil }
        try EffectiveConfiguration.check(value, for: key, origin: origin)
        switch key.kind {
        case .size, .boundedSize: return ByteSize.parse(value)
        default: return Int(value)
        }
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
    }
}
