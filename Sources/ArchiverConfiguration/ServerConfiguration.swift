/// The settings of `archiver serve`, typed and checked. Defaults are the keys' (``ConfigKeys``).
public struct ServerConfiguration: Sendable {
    public var host = ConfigKeys.host.defaultValue
    public var port = ConfigKeys.port.defaultValue
    public var tokens: [APITokenEntry] = []
    public var maxBodyBytes = ConfigKeys.maxBodyBytes.defaultValue
    /// Bytes of decoded snapshots the reads of pruned history keep (``ConfigKeys/coldReadCache``).
    public var coldReadCacheBytes = ConfigKeys.coldReadCache.defaultValue
    /// Seconds between scheduled flush passes; 0 turns the schedule off (`POST /flush` still works).
    public var flushInterval = ConfigKeys.flushInterval.defaultValue
    /// Seconds between the console's chart samples (``ConfigKeys/consoleSampleInterval``); more than 0.
    public var consoleSampleInterval = ConfigKeys.consoleSampleInterval.defaultValue
    public var leaseTTL = ConfigKeys.leaseTTL.defaultValue
    /// This replica's name in the flush lease; nil: `HOST/PID`.
    public var holder = ConfigKeys.holder.defaultValue
    public var readyMaxLagEvents = Int64(ConfigKeys.readyMaxLagEvents.defaultValue)
    public var readyMaxLagSeconds = ConfigKeys.readyMaxLagSeconds.defaultValue
    public var shutdownDeadline = ConfigKeys.shutdownDeadline.defaultValue
    public var logLevel = ConfigKeys.logLevel.defaultValue
    /// Seconds between scheduled compactions (`compact-every`); 0: none.
    public var compactEvery: Double = 0
    /// Seconds between scheduled restore drills (`drill-every`); 0: none.
    public var drillEvery: Double = 0
    /// Uncompressed record bytes per generation snapshot of a scheduled compaction.
    public var compactTargetBytes = ConfigKeys.compactTargetSize.defaultValue
    /// zstd level of a scheduled compaction's files; nil keeps the archive's compression.
    public var compactZstdLevel: Int?
    /// Browser origins (`https://app.example`) whose requests the API serves besides its own; none by default.
    public var allowedOrigins: [String] = []

    public init() {}

    /// True when `host` only accepts connections from this machine.
    public var isLoopback: Bool {
        host == "localhost" || host == "::1" || host.hasPrefix("127.")
    }
}

extension ConfigResolver {
    /// The serve settings.
    /// - Throws: ``ConfigError`` for a bad value, or settings that are valid one by one but not together.
    public func serverConfiguration() throws -> ServerConfiguration {
        var c = ServerConfiguration()
        c.host = try value(ConfigKeys.host)
        c.port = try value(ConfigKeys.port)
        c.tokens = try value(ConfigKeys.tokens).map { try APITokenEntry(parsing: $0) }
        c.maxBodyBytes = try value(ConfigKeys.maxBodyBytes)
        c.coldReadCacheBytes = try value(ConfigKeys.coldReadCache)
        c.flushInterval = try value(ConfigKeys.flushInterval)
        c.consoleSampleInterval = try value(ConfigKeys.consoleSampleInterval)
        guard c.consoleSampleInterval > 0 else {
            throw ConfigError("console-sample-interval must be more than 0 seconds, like 15")
        }
        c.leaseTTL = try value(ConfigKeys.leaseTTL)
        c.holder = try value(ConfigKeys.holder)
        c.readyMaxLagEvents = Int64(try value(ConfigKeys.readyMaxLagEvents))
        c.readyMaxLagSeconds = try value(ConfigKeys.readyMaxLagSeconds)
        c.shutdownDeadline = try value(ConfigKeys.shutdownDeadline)
        c.logLevel = try value(ConfigKeys.logLevel)
        if let every = try value(ConfigKeys.compactEvery) {
            guard let seconds = Age.seconds(every), seconds >= 60 else {
                throw ConfigError("compact-every '\(every)' is not a period of at least a minute, like 24h or 30m")
            }
            c.compactEvery = seconds
        }
        if let every = try value(ConfigKeys.drillEvery) {
            guard let seconds = Age.seconds(every), seconds >= 1 else {
                throw ConfigError("drill-every '\(every)' is not a period like 24h or 30m")
            }
            c.drillEvery = seconds
        }
        c.compactTargetBytes = try value(ConfigKeys.compactTargetSize)
        c.compactZstdLevel = try value(ConfigKeys.compactZstdLevel)
        try Self.checkTogether(c)
        return c
    }

    private static func checkTogether(_ c: ServerConfiguration) throws {
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
    }
}
