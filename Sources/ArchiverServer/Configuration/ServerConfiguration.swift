import Foundation

/// The settings of `archiver serve`, typed and checked.
public struct ServerConfiguration: Sendable {
    public var host = "127.0.0.1"
    public var port = 8080
    public var tokens: [APITokenEntry] = []
    public var maxBodyBytes = 8 << 20
    /// Seconds between scheduled flush passes; 0 turns the schedule off (`POST /flush` still works).
    public var flushInterval: Double = 5
    public var leaseTTL: Double = 30
    /// This replica's name in the flush lease; nil: `HOST/PID`.
    public var holder: String?
    public var readyMaxLagEvents: Int64 = 100_000
    public var readyMaxLagSeconds: Double = 300
    public var shutdownDeadline: Double = 25
    public var logLevel = "info"
    /// Seconds between scheduled compactions (`compact-every`); 0: none.
    public var compactEvery: Double = 0
    /// Uncompressed record bytes per generation snapshot of a scheduled compaction.
    public var compactTargetBytes = 256 << 20
    /// Browser origins (`https://app.example`) whose requests the API serves besides its own; none by default.
    public var allowedOrigins: [String] = []

    public init() {}

    /// True when `host` only accepts connections from this machine.
    public var isLoopback: Bool {
        host == "localhost" || host == "::1" || host.hasPrefix("127.")
    }
}

extension EffectiveConfiguration {
    /// The serve settings.
    /// - Throws: ``ConfigError`` for settings that are valid one by one but not together.
    public func serverConfiguration() throws -> ServerConfiguration {
        var c = ServerConfiguration()
        c.host = value("host") ?? c.host
        c.port = value("port").flatMap { Int($0) } ?? c.port
        c.tokens = try list("tokens").map { try APITokenEntry(parsing: $0) }
        c.maxBodyBytes = value("max-body-bytes").flatMap(ByteSize.parse) ?? c.maxBodyBytes
        c.flushInterval = value("flush-interval").flatMap { Double($0) } ?? c.flushInterval
        c.leaseTTL = value("lease-ttl").flatMap { Double($0) } ?? c.leaseTTL
        c.holder = value("holder")
        c.readyMaxLagEvents = value("ready-max-lag-events").flatMap { Int64($0) } ?? c.readyMaxLagEvents
        c.readyMaxLagSeconds = value("ready-max-lag-seconds").flatMap { Double($0) } ?? c.readyMaxLagSeconds
        c.shutdownDeadline = value("shutdown-deadline").flatMap { Double($0) } ?? c.shutdownDeadline
        c.logLevel = value("log-level") ?? c.logLevel
        if let every = value("compact-every") {
            guard let seconds = Age.seconds(every), seconds >= 60 else {
                throw ConfigError("compact-every '\(every)' is not a period of at least a minute, like 24h or 30m")
            }
            c.compactEvery = seconds
        }
        c.compactTargetBytes = value("compact-target-size").flatMap(ByteSize.parse) ?? c.compactTargetBytes
        if c.tokens.isEmpty && !c.isLoopback {
            throw ConfigError(
                "host \(c.host) accepts remote connections but no API token is configured: add tokens (see "
                    + "`archiver tokens generate`), or listen on 127.0.0.1")
        }
        if c.flushInterval > 0 && c.leaseTTL < c.flushInterval * 2 {
            throw ConfigError(
                "lease-ttl (\(c.leaseTTL)s) must be at least twice flush-interval (\(c.flushInterval)s), so the "
                    + "flushing replica keeps its lease between passes")
        }
        guard c.leaseTTL >= 1 else { throw ConfigError("lease-ttl must be at least 1 second") }
        let names = c.tokens.map(\.name)
        if Set(names).count != names.count {
            throw ConfigError("tokens: two entries have the same name; names must be unique")
        }
        return c
    }
}
