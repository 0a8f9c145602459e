import ArchiverConfiguration
import ArchiverCore
import ArchiverServer
import ArgumentParser
import Coordination
import Foundation
import Logging

/// The options of `archiver serve`, shared with `archiver config check` so both resolve the same configuration.
///
/// The properties declare one flag per key for ArgumentParser (which checks the command line and prints the help
/// from the key); the values are read back by key through ``flags``, so every key is resolved the same way.
struct ServeOptions: ParsableArguments {
    @OptionGroup var storeOptions: StoreOptions
    @OptionGroup var appendGroup: AppendGroupOptions
    @OptionGroup var archiveOptions: ArchiveOptions
    @OptionGroup var layout: ArchiveLayoutOptions
    @OptionGroup var signing: SigningOptions

    /// Only for `--help`: `CLIConfig.load` takes `--config` out of the command line before parsing.
    @Option(
        help: ArgumentHelp(
            "Configuration file (YAML; every key above). Also ARCHIVER_CONFIG; default ./archiver.yaml when present.",
            valueName: "file"))
    var config: String?

    @Option(help: ConfigKeys.host.help(valueName: "host"))
    var host: String?

    @Option(help: ConfigKeys.port.help(valueName: "port"))
    var port: String?

    @Option(name: .customLong(ConfigKeys.tokens.descriptor.flagName), help: ConfigKeys.tokens.help(valueName: "entry"))
    var tokens: [String] = []

    @Option(help: ConfigKeys.maxBodyBytes.help(valueName: "size"))
    var maxBodyBytes: String?

    @Option(help: ConfigKeys.coldReadCache.help(valueName: "size"))
    var coldReadCache: String?

    @Option(help: ConfigKeys.flushInterval.help(valueName: "s"))
    var flushInterval: String?

    @Option(help: ConfigKeys.consoleSampleInterval.help(valueName: "s"))
    var consoleSampleInterval: String?

    @Option(help: ConfigKeys.compactEvery.help(valueName: "period"))
    var compactEvery: String?

    @Option(help: ConfigKeys.drillEvery.help(valueName: "period"))
    var drillEvery: String?

    @Option(help: ConfigKeys.leaseTTL.help(valueName: "s"))
    var leaseTTL: String?

    @Option(help: ConfigKeys.holder.help(valueName: "name"))
    var holder: String?

    @Option(help: ConfigKeys.readyMaxLagEvents.help(valueName: "n"))
    var readyMaxLagEvents: String?

    @Option(help: ConfigKeys.readyMaxLagSeconds.help(valueName: "s"))
    var readyMaxLagSeconds: String?

    @Option(help: ConfigKeys.shutdownDeadline.help(valueName: "s"))
    var shutdownDeadline: String?

    @Option(help: ConfigKeys.logLevel.help(valueName: "level"))
    var logLevel: String?

    /// The flags that were given, by configuration key. ArgumentParser has checked the command line against
    /// the options above and of the groups; the keys' flag names read the values back from it, so no list of
    /// flags is kept by hand.
    var flags: [String: String] {
        ConfigFlags.values(in: CLIConfig.arguments)
    }

    /// - Throws: `ConfigError` (exit status 64 through `CLIErrors`).
    func effective() throws -> EffectiveConfiguration {
        try EffectiveConfiguration(flags: flags, sources: CLIConfig.sources)
    }

    func serverConfiguration() throws -> ServerConfiguration {
        try effective().serverConfiguration()
    }
}

struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Run the sidecar: HTTP API for appends and reads, scheduled flush, probes and metrics.",
        discussion: """
            Listens on \(ConfigKeys.host.defaultValue):\(ConfigKeys.port.defaultValue) by default and prints `listening on http://HOST:PORT` once bound. Apps \
            append with POST /streams/{stream}/events (Expected-Version, Idempotency-Key), read with GET \
            /streams/{stream} and GET /events (long-poll or Server-Sent Events); see docs/HTTP.md. The flusher \
            runs every --flush-interval seconds; with several replicas on one store only the holder of the \
            flush lease flushes, and another takes over when it stops. SIGTERM or SIGINT shut down gracefully \
            within --shutdown-deadline seconds: in-flight appends complete, a last flush archives what was \
            appended since the previous pass, exit 0; exit 14 when the deadline cut that flush short or it \
            failed (the events stay in the store for the next flush). `archiver health` probes /ready.

            Without --token entries the API is open, which is allowed on a loopback address only.

            Examples:
              archiver serve
              archiver serve --config /etc/archiver/archiver.yaml
              archiver serve --port 0 --flush-interval 2
            """)

    @OptionGroup var options: ServeOptions

    func run() async throws {
        try await CLIErrors.reporting {
            let configuration = try options.serverConfiguration()
            let level = Logger.Level(rawValue: configuration.logLevel) ?? .info
            LoggingSystem.bootstrap { label in
                var handler = StreamLogHandler.standardError(label: label)
                handler.logLevel = level
                return handler
            }
            let logger = Logger(label: "archiver.serve")
            let store = try await options.storeOptions.openStore(
                create: true, groupCommit: try options.appendGroup.groupCommit())
            do {
                try await store.migrate()
                var archive = try await ArchiveOpener.open(
                    options.archiveOptions, create: true, preferred: try options.layout.settings())
                try options.signing.apply(to: &archive)
                if configuration.tokens.isEmpty {
                    logger.warning(
                        "no API tokens configured: the API is open to every local process",
                        metadata: ["host": "\(configuration.host)"])
                }
                var sidecar = Sidecar(
                    store: store, archive: archive, configuration: configuration,
                    flushOptions: FlushOptions(producer: ArchiverVersion.producer), logger: logger)
                let upcasters = try UpcastOptions.rules(file: nil)
                sidecar.api.metrics.recordUpcasters(sha256: upcasters.identity)
                if upcasters.identity != nil { sidecar.api.upcaster = Upcaster(upcasters) }
                if configuration.drillEvery > 0 {
                    sidecar.drillSchedule = DrillSchedule(
                        interval: configuration.drillEvery, producer: ArchiverVersion.producer,
                        scratchStore: DrillCommand.scratchStore)
                }
                sidecar.onShutdownOverrun = { [logger, deadline = configuration.shutdownDeadline] in
                    logger.critical(
                        "shutdown did not finish within shutdown-deadline + \(Sidecar.shutdownOverrunGrace) s: a request or task did not end; exiting; unarchived events stay in the store and the next flush archives them",
                        metadata: ["shutdown-deadline": "\(deadline)"])
                    Foundation.exit(Self.finalFlushStatus)
                }
                let holder = await sidecar.api.coordinator.holder
                logger.info(
                    "starting",
                    metadata: [
                        "store": "\(options.storeOptions.displayLocation)",
                        "archive": "\(options.archiveOptions.location)", "holder": "\(holder)",
                    ])
                let finalFlush = try await sidecar.run { address in
                    FileHandle.standardOutput.write(Data("listening on \(address)\n".utf8))
                }
                await store.close()
                try Self.report(finalFlush, deadline: configuration.shutdownDeadline, logger: logger)
            } catch {
                await store.close()
                throw error
            }
        }
    }

    /// Exit status when the last flush at shutdown was cut short by `shutdown-deadline` or failed, or the shutdown
    /// overran the deadline: the events appended since the previous pass are still only in the hot store (the
    /// next flusher archives them).
    static let finalFlushStatus: Int32 = 14

    /// Logs how the shutdown ended and throws the exit status when events were left unarchived.
    static func report(_ finalFlush: FinalFlush.Outcome, deadline: Double, logger: Logger) throws {
        switch finalFlush {
        case .cutShort:
            logger.error(
                "the final flush did not finish within shutdown-deadline; unarchived events stay in the store and the next flush archives them (raise shutdown-deadline)",
                metadata: ["shutdown-deadline": "\(deadline)"])
        case .failed(let message):
            logger.error(
                "the final flush failed; unarchived events stay in the store and the next flush archives them",
                metadata: ["error": "\(message)"])
        case .notRun, .completed, .standby:
            logger.info("stopped")
            return
        }
        throw ExitCode(finalFlushStatus)
    }
}

struct TokensCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tokens",
        abstract: "Manage API tokens for `archiver serve`.",
        subcommands: [Generate.self])

    struct Generate: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Create an API token: prints the token once, and the entry (its SHA-256) for the configuration.",
            discussion: """
                Give the token to the client (it sends Authorization: Bearer TOKEN) and add the entry to \
                `tokens:` in archiver.yaml, ARCHIVER_TOKENS (space-separated) or --token. Only the hash is \
                configured, so the configuration does not hold the secret. Scopes: append, read, admin \
                (admin includes the others).

                Example: archiver tokens generate --name billing --scope append --scope read
                """)

        @Option(help: ArgumentHelp("A name for the token (shown in logs and errors).", valueName: "name"))
        var name: String

        @Option(help: ArgumentHelp("append, read or admin (repeatable).", valueName: "scope"))
        var scope: [String] = []

        func run() async throws {
            var scopes = Set<APIScope>()
            for text in scope {
                guard let parsed = APIScope(rawValue: text) else {
                    throw ValidationError("--scope '\(text)' is not append, read or admin")
                }
                scopes.insert(parsed)
            }
            guard !scopes.isEmpty else { throw ValidationError("pass at least one --scope (append, read or admin)") }
            let (token, entry) = APITokenEntry.generate(name: name, scopes: scopes)
            do {
                _ = try APITokenEntry(parsing: entry.entry)
            } catch let error as ConfigError {
                throw ValidationError(error.message)
            }
            print("token: \(token)")
            print("entry: \(entry.entry)")
        }
    }
}

struct ConfigCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "config",
        abstract: "Inspect the configuration.",
        subcommands: [Check.self])

    struct Check: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Validate the configuration and print the effective values, secrets redacted.",
            discussion: """
                Resolves every key as the commands do: flags > ARCHIVER_* environment > archiver.yaml (--config \
                or ARCHIVER_CONFIG) > defaults, and prints each with its origin. Exits 64 on an unknown key or a \
                bad value. Passwords in store URLs and token hashes are never printed.

                Example: archiver config check --config /etc/archiver/archiver.yaml
                """)

        @OptionGroup var options: ServeOptions

        func run() async throws {
            try await CLIErrors.reporting {
                let effective = try options.effective()
                _ = try effective.serverConfiguration()
                print(effective.rendered())
            }
        }
    }
}
