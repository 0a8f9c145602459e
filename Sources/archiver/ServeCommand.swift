import ArchiverCore
import ArchiverServer
import ArgumentParser
import Coordination
import Foundation
import Logging

/// The options of `archiver serve`, shared with `archiver config check` so both resolve the same configuration.
struct ServeOptions: ParsableArguments {
    @OptionGroup var storeOptions: StoreOptions
    @OptionGroup var archiveOptions: ArchiveOptions
    @OptionGroup var layout: ArchiveLayoutOptions
    @OptionGroup var signing: SigningOptions

    @Option(help: ArgumentHelp("Address to listen on (default 127.0.0.1).", valueName: "host"))
    var host: String?

    @Option(help: ArgumentHelp("TCP port (default 8080; 0 picks a free one, printed on stdout).", valueName: "port"))
    var port: String?

    @Option(
        name: .customLong("token"),
        help: ArgumentHelp(
            "An API token entry NAME:SCOPES:SHA256 from `archiver tokens generate` (repeatable).", valueName: "entry"))
    var tokens: [String] = []

    @Option(help: ArgumentHelp("Largest request body (default 8MiB).", valueName: "size"))
    var maxBodyBytes: String?

    @Option(help: ArgumentHelp("Seconds between flush passes; 0 turns the schedule off (default 5).", valueName: "s"))
    var flushInterval: String?

    @Option(
        help: ArgumentHelp(
            "Run `archiver compact` (not --retire) this often, e.g. 24h (default: never). Also ARCHIVER_COMPACT_EVERY.",
            valueName: "period"))
    var compactEvery: String?

    @Option(
        help: ArgumentHelp(
            "Run `archiver drill` of the latest cut this often, e.g. 24h (default: never).", valueName: "period"))
    var drillEvery: String?

    @Option(help: ArgumentHelp("Seconds the flush lease outlives the last pass (default 30).", valueName: "s"))
    var leaseTTL: String?

    @Option(help: ArgumentHelp("This replica's name in the flush lease (default HOST/PID).", valueName: "name"))
    var holder: String?

    @Option(help: ArgumentHelp("/ready fails above this many unflushed events (default 100000).", valueName: "n"))
    var readyMaxLagEvents: String?

    @Option(help: ArgumentHelp("/ready fails when the oldest unflushed event is older (default 300).", valueName: "s"))
    var readyMaxLagSeconds: String?

    @Option(help: ArgumentHelp("Seconds a graceful shutdown may take (default 25).", valueName: "s"))
    var shutdownDeadline: String?

    @Option(help: ArgumentHelp("trace, debug, info (default), notice, warning, error or critical.", valueName: "level"))
    var logLevel: String?

    /// The flags that were given, by configuration key.
    var flags: [String: String] {
        var flags: [String: String] = [:]
        flags["store"] = storeOptions.store
        flags["schema"] = storeOptions.schema
        flags["sqlite-synchronous"] = storeOptions.sqliteSynchronousFlag
        flags["archive"] = archiveOptions.archive
        flags["s3-endpoint"] = archiveOptions.s3Endpoint
        flags["s3-region"] = archiveOptions.s3Region
        if archiveOptions.s3PathStyle { flags["s3-path-style"] = "true" }
        flags["s3-profile"] = archiveOptions.s3Profile
        flags["s3-sse"] = archiveOptions.s3SSE
        flags["s3-object-lock-mode"] = archiveOptions.s3ObjectLockMode
        flags["s3-object-lock-days"] = archiveOptions.s3ObjectLockDays.map(String.init)
        flags["s3-conditional-writes"] = archiveOptions.s3ConditionalWrites
        flags["s3-multipart-threshold"] = archiveOptions.s3MultipartThreshold
        flags["s3-part-size"] = archiveOptions.s3PartSize
        flags["s3-upload-concurrency"] = archiveOptions.s3UploadConcurrency
        flags["compression"] = layout.compressionFlag
        flags["partitioning"] = layout.partitioningFlag
        flags["target-size"] = layout.targetSizeFlag
        flags["signing-key"] = signing.signingKey
        if !signing.trustedKey.isEmpty { flags["trusted-keys"] = signing.trustedKey.joined(separator: ":") }
        flags["host"] = host
        flags["port"] = port
        if !tokens.isEmpty { flags["tokens"] = tokens.joined(separator: " ") }
        flags["max-body-bytes"] = maxBodyBytes
        flags["flush-interval"] = flushInterval
        flags["lease-ttl"] = leaseTTL
        flags["compact-every"] = compactEvery
        flags["holder"] = holder
        flags["ready-max-lag-events"] = readyMaxLagEvents
        flags["ready-max-lag-seconds"] = readyMaxLagSeconds
        flags["shutdown-deadline"] = shutdownDeadline
        flags["log-level"] = logLevel
        return flags
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
            Listens on 127.0.0.1:8080 by default and prints `listening on http://HOST:PORT` once bound. Apps \
            append with POST /streams/{stream}/events (Expected-Version, Idempotency-Key), read with GET \
            /streams/{stream} and GET /events (long-poll or Server-Sent Events); see docs/HTTP.md. The flusher \
            runs every --flush-interval seconds; with several replicas on one store only the holder of the \
            flush lease flushes, and another takes over when it stops. SIGTERM or SIGINT shut down gracefully \
            (in-flight appends complete) within --shutdown-deadline seconds.

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
            let store = try await options.storeOptions.openStore(create: true)
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
                if let every = options.drillEvery {
                    guard let seconds = Age.seconds(every), seconds >= 1 else {
                        throw ValidationError("--drill-every '\(every)' is not a period like 24h or 30m")
                    }
                    sidecar.drillSchedule = DrillSchedule(
                        interval: seconds, producer: ArchiverVersion.producer, scratchStore: DrillCommand.scratchStore)
                }
                let holder = await sidecar.api.coordinator.holder
                logger.info(
                    "starting",
                    metadata: [
                        "store": "\(options.storeOptions.displayLocation)",
                        "archive": "\(options.archiveOptions.location)", "holder": "\(holder)",
                    ])
                try await sidecar.run { address in
                    FileHandle.standardOutput.write(Data("listening on \(address)\n".utf8))
                }
            } catch {
                await store.close()
                throw error
            }
            await store.close()
            logger.info("stopped")
        }
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
