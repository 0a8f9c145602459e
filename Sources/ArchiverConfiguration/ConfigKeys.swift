/// Every key the archiver reads, each with its one default.
///
/// A command reads a key through ``ConfigResolver/value(_:)`` (typed, checked, with the key's default); help
/// texts, `archiver config check` and `serve`'s flags derive from these declarations.
public enum ConfigKeys {
    // MARK: Coordination store

    public static let store = ConfigKey<String>(
        "store", .text, default: "./archiver.db", secret: true,
        "Coordination store: sqlite:PATH, a file path, or postgres://…")
    public static let schema = ConfigKey<String>(
        "schema", .text, default: "archiver", "PostgreSQL schema holding the store's tables")
    public static let sqliteSynchronous = ConfigKey<String>(
        "sqlite-synchronous", .choice(["full", "normal"]), default: "full",
        "SQLite durability: full (fsync each commit) or normal")
    public static let appendGroupMax = ConfigKey<Int>(
        "append-group-max", .boundedCount(1...1024), default: "32",
        "Most concurrent append calls committed in one transaction (group commit), 1 to 1024; 1 commits each alone")
    public static let appendGroupWait = ConfigKey<Double>(
        "append-group-wait", .seconds, default: "0",
        "Seconds a commit waits for more append calls to join it; 0 takes only the calls already queued")

    // MARK: Archive and S3

    public static let archive = ConfigKey<String>(
        "archive", .text, default: "./archive",
        "Archive location: a directory or s3://bucket/prefix; for S3 see the --s3-* options and docs/OPERATIONS.md")
    public static let s3Endpoint = ConfigKey<String?>(
        "s3-endpoint", .text, unset: "AWS in the region", fallbacks: ["AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL"],
        "S3 API endpoint, e.g. http://127.0.0.1:9000")
    public static let s3Region = ConfigKey<String?>(
        "s3-region", .text, unset: "us-east-1",
        fallbacks: ["AWS_REGION", "AWS_DEFAULT_REGION", "the profile's region"],
        "S3 region")
    public static let s3PathStyle = ConfigKey<Bool>(
        "s3-path-style", .toggle, default: "false", "Path-style S3 URLs (host/bucket/key), as MinIO and Ceph need")
    public static let s3Profile = ConfigKey<String?>(
        "s3-profile", .text, fallbacks: ["AWS_PROFILE (which does not win over AWS_ACCESS_KEY_ID)"],
        "Profile of ~/.aws/credentials and ~/.aws/config; wins over AWS_ACCESS_KEY_ID")
    public static let s3SSE = ConfigKey<String?>(
        "s3-sse", .text, "Server-side encryption of written objects: AES256, aws:kms, or aws:kms:<key-id-or-arn>")
    public static let s3ObjectLockMode = ConfigKey<String?>(
        "s3-object-lock-mode", .choice(["GOVERNANCE", "COMPLIANCE"]),
        "Object Lock retention of written objects: GOVERNANCE or COMPLIANCE (needs --s3-object-lock-days and a "
            + "bucket with Object Lock)")
    public static let s3ObjectLockDays = ConfigKey<Int?>(
        "s3-object-lock-days", .count, "Object Lock retention in days from each write")
    public static let s3ConditionalWrites = ConfigKey<String>(
        "s3-conditional-writes", .choice(["probe", "assume", "emulate"]), default: "probe",
        "How create-only writes are guaranteed: probe checks once that the server honours If-None-Match, assume "
            + "trusts it, emulate sends HEAD then PUT and needs a single writer")
    public static let s3MultipartThreshold = ConfigKey<Int>(
        "s3-multipart-threshold", .boundedSize(S3Limits.partSize), default: "16MiB",
        "Objects at least this large are uploaded in parts, 5MiB to 5GiB")
    public static let s3PartSize = ConfigKey<Int>(
        "s3-part-size", .boundedSize(S3Limits.partSize), default: "8MiB",
        "Size of each part of a multipart upload, 5MiB to 5GiB")
    public static let s3UploadConcurrency = ConfigKey<Int>(
        "s3-upload-concurrency", .boundedCount(1...64), default: "4",
        "Parts of one multipart upload sent at once, 1 to 64; memory: this times the part size")
    public static let prefetch = ConfigKey<Int>(
        "prefetch", .boundedCount(1...32), default: "3",
        "Snapshots a replay fetches, checks and decompresses ahead of the one being applied, 1 to 32")

    // MARK: Writing the archive

    public static let compression = ConfigKey<String>(
        "compression", .text, default: "zstd:1",
        "Segment compression of a new archive: zstd[:LEVEL], gzip[:LEVEL] or none")
    public static let partitioning = ConfigKey<String>(
        "partitioning", .choice(["category-day", "day", "none"]), default: "category-day",
        "Hive partitioning of a new archive: category-day, day or none")
    public static let archiveFormat = ConfigKey<String>(
        "archive-format", .choice(["1", "2"]), default: "2",
        "Record format of a new archive: 2 (records without their chain hash, which readers recompute) or 1; an "
            + "archive keeps the format it was created with")
    public static let targetSize = ConfigKey<Int>(
        "target-size", .size, default: "64MiB", "Uncompressed bytes per snapshot before a new one starts")
    public static let signingKey = ConfigKey<String?>(
        "signing-key", .text, "Sign new manifests with this private key file")
    public static let subjectField = ConfigKey<String?>(
        "subject-field", .text,
        "Metadata member naming each event's subject: its data is archived encrypted, so `archiver forget` can "
            + "erase it")
    public static let checkpointEvery = ConfigKey<Int>(
        "checkpoint-every", .count, default: "1000", "Write a catalog checkpoint every N snapshots (0: never)")
    public static let compactTargetSize = ConfigKey<Int>(
        "compact-target-size", .size, default: "256MiB", "Uncompressed bytes per generation snapshot of a compaction")
    public static let compactZstdLevel = ConfigKey<Int?>(
        "compact-zstd-level", .boundedCount(1...22), unset: "the archive's",
        "zstd level of the files a compaction writes, 1 to 22 (higher: smaller, slower to write)")
    public static let compactRetention = ConfigKey<String>(
        "compact-retention", .text, default: "0d",
        "compact --retire keeps objects younger than this age, e.g. 30d (at least the S3 Object Lock days)")
    public static let compactEvery = ConfigKey<String?>(
        "compact-every", .text, unset: "never", "Run `archiver compact` (not --retire) this often, e.g. 24h")
    public static let drillEvery = ConfigKey<String?>(
        "drill-every", .text, unset: "never", "Run `archiver drill` of the latest cut this often, e.g. 24h")
    public static let trustedKeys = ConfigKey<[String]>(
        "trusted-keys", .list(separator: ":"), flag: "trusted-key",
        "Trust signatures by this public key file (repeatable; several keys allow rotation)")

    // MARK: archiver serve

    public static let host = ConfigKey<String>("host", .text, default: "127.0.0.1", "Address to listen on")
    public static let port = ConfigKey<Int>(
        "port", .port, default: "8080", "TCP port; 0 picks a free one, printed on stdout")
    public static let tokens = ConfigKey<[String]>(
        "tokens", .list(separator: " "), secret: true, flag: "token",
        "An API token entry NAME:SCOPES:SHA256 from `archiver tokens generate` (repeatable)")
    public static let maxBodyBytes = ConfigKey<Int>(
        "max-body-bytes", .size, default: "8MiB", "Largest request body")
    public static let coldReadCache = ConfigKey<Int>(
        "cold-read-cache", .size, default: "256MiB",
        "Memory for decoded archive snapshots kept by reads of pruned history (LRU); 0 keeps none")
    public static let flushInterval = ConfigKey<Double>(
        "flush-interval", .seconds, default: "5", "Seconds between flush passes; 0 turns the schedule off")
    public static let consoleSampleInterval = ConfigKey<Double>(
        "console-sample-interval", .seconds, default: "15", "Seconds between the operator console's chart samples")
    public static let leaseTTL = ConfigKey<Double>(
        "lease-ttl", .seconds, default: "30", "Seconds the flush lease outlives the last pass")
    public static let holder = ConfigKey<String?>(
        "holder", .text, unset: "HOST/PID", "This replica's name in the flush lease")
    public static let readyMaxLagEvents = ConfigKey<Int>(
        "ready-max-lag-events", .count, default: "100000", "/ready fails above this many unflushed events")
    public static let readyMaxLagSeconds = ConfigKey<Double>(
        "ready-max-lag-seconds", .seconds, default: "300",
        "/ready fails when the oldest unflushed event is older than this many seconds")
    public static let shutdownDeadline = ConfigKey<Double>(
        "shutdown-deadline", .seconds, default: "25", "Seconds a graceful shutdown may take")
    public static let logLevel = ConfigKey<String>(
        "log-level", .choice(["trace", "debug", "info", "notice", "warning", "error", "critical"]), default: "info",
        "Log level: trace, debug, info, notice, warning, error or critical")

    /// Every key, in the order `archiver config check` prints them.
    public static let all: [AnyConfigKey] = [
        store.descriptor, schema.descriptor, sqliteSynchronous.descriptor, appendGroupMax.descriptor,
        appendGroupWait.descriptor, archive.descriptor,
        s3Endpoint.descriptor, s3Region.descriptor, s3PathStyle.descriptor, s3Profile.descriptor, s3SSE.descriptor,
        s3ObjectLockMode.descriptor, s3ObjectLockDays.descriptor, s3ConditionalWrites.descriptor,
        s3MultipartThreshold.descriptor, s3PartSize.descriptor, s3UploadConcurrency.descriptor, prefetch.descriptor,
        compression.descriptor, partitioning.descriptor, archiveFormat.descriptor, targetSize.descriptor,
        signingKey.descriptor,
        subjectField.descriptor, checkpointEvery.descriptor, compactTargetSize.descriptor,
        compactZstdLevel.descriptor, compactRetention.descriptor, compactEvery.descriptor, drillEvery.descriptor,
        trustedKeys.descriptor,
        host.descriptor,
        port.descriptor, tokens.descriptor, maxBodyBytes.descriptor, coldReadCache.descriptor,
        flushInterval.descriptor, consoleSampleInterval.descriptor, leaseTTL.descriptor,
        holder.descriptor, readyMaxLagEvents.descriptor, readyMaxLagSeconds.descriptor, shutdownDeadline.descriptor,
        logLevel.descriptor,
    ]

    /// The key named `name` in `archiver.yaml`, or nil.
    public static func named(_ name: String) -> AnyConfigKey? { all.first { $0.name == name } }

    /// The key that `name` most likely meant to spell, for "did you mean" hints; nil when none is close.
    public static func nearest(to name: String) -> AnyConfigKey? {
        NearestName.closest(to: name, among: all.map(\.name)).flatMap(named)
    }
}

/// S3's documented limits that the configuration checks against.
enum S3Limits {
    /// A part (and so the multipart threshold) is 5 MiB to 5 GiB; a single PUT is at most 5 GiB too.
    static let partSize = (5 << 20)...(5 << 30)
}
