import Foundation

/// One configuration key: the same name in `archiver.yaml`, as an `ARCHIVER_*` environment variable and as
/// a `--flag`, for every command that uses it.
///
/// ```swift
/// ConfigKey.named("flush-interval")?.environmentName  // "ARCHIVER_FLUSH_INTERVAL"
/// ```
public struct ConfigKey: Sendable, Hashable {
    /// How a value is checked.
    public enum Kind: Sendable, Hashable {
        case text
        case choice([String])
        /// A whole number ≥ 0.
        case count
        /// A whole number in a range, e.g. a concurrency.
        case boundedCount(ClosedRange<Int>)
        /// A TCP port, 0...65535 (0: any free port).
        case port
        /// Seconds ≥ 0, fractions allowed.
        case seconds
        /// A byte size such as `8MiB`, `512KiB` or `1000000`.
        case size
        /// A byte size in a range (bytes), e.g. S3's part-size limits.
        case boundedSize(ClosedRange<Int>)
        /// Several values: a YAML list in the file; separated by `separator` in the environment.
        case list(separator: Character)
    }

    /// The key as written in `archiver.yaml` and as the flag (`--name`).
    public var name: String
    public var kind: Kind
    /// The value when nothing sets the key; nil when it stays unset.
    public var defaultValue: String?
    /// Values that are redacted when printed (token hashes; passwords in store URLs).
    public var isSecret: Bool
    public var summary: String

    public var environmentName: String {
        "ARCHIVER_" + name.uppercased().replacingOccurrences(of: "-", with: "_")
    }

    public var isList: Bool {
        if case .list = kind { return true }
        return false
    }

    public static func named(_ name: String) -> ConfigKey? { all.first { $0.name == name } }

    /// Every key the archiver reads, in the order `archiver config check` prints them.
    public static let all: [ConfigKey] = [
        ConfigKey(
            name: "store", kind: .text, defaultValue: "./archiver.db", isSecret: true,
            summary: "coordination store: sqlite:PATH, a file path, or postgres://…"),
        ConfigKey(
            name: "schema", kind: .text, defaultValue: "archiver", isSecret: false,
            summary: "PostgreSQL schema of the store's tables"),
        ConfigKey(
            name: "sqlite-synchronous", kind: .choice(["full", "normal"]), defaultValue: "full", isSecret: false,
            summary: "SQLite durability"),
        ConfigKey(
            name: "archive", kind: .text, defaultValue: "./archive", isSecret: false,
            summary: "archive location (a directory)"),
        ConfigKey(
            name: "s3-endpoint", kind: .text, defaultValue: nil, isSecret: false,
            summary: "S3 API endpoint of an s3:// archive (default: AWS in the region)"),
        ConfigKey(
            name: "s3-region", kind: .text, defaultValue: nil, isSecret: false,
            summary: "S3 region (default us-east-1, or AWS_REGION / the profile's)"),
        ConfigKey(
            name: "s3-path-style", kind: .choice(["true", "false"]), defaultValue: "false", isSecret: false,
            summary: "path-style S3 URLs (MinIO, Ceph)"),
        ConfigKey(
            name: "s3-profile", kind: .text, defaultValue: nil, isSecret: false,
            summary: "profile in the shared AWS credentials and config files"),
        ConfigKey(
            name: "s3-sse", kind: .text, defaultValue: nil, isSecret: false,
            summary: "server-side encryption of new objects: AES256, aws:kms or aws:kms:KEY-ID"),
        ConfigKey(
            name: "s3-object-lock-mode", kind: .choice(["GOVERNANCE", "COMPLIANCE"]), defaultValue: nil,
            isSecret: false, summary: "Object Lock retention mode of new objects (with s3-object-lock-days)"),
        ConfigKey(
            name: "s3-object-lock-days", kind: .count, defaultValue: nil, isSecret: false,
            summary: "Object Lock retention of new objects, in days"),
        ConfigKey(
            name: "s3-conditional-writes", kind: .choice(["probe", "assume", "emulate"]), defaultValue: "probe",
            isSecret: false, summary: "how create-only S3 writes are guaranteed"),
        ConfigKey(
            name: "s3-multipart-threshold", kind: .boundedSize(S3Limits.partSize), defaultValue: "16MiB",
            isSecret: false, summary: "S3 objects at least this large are uploaded in parts"),
        ConfigKey(
            name: "s3-part-size", kind: .boundedSize(S3Limits.partSize), defaultValue: "8MiB", isSecret: false,
            summary: "size of each part of an S3 multipart upload"),
        ConfigKey(
            name: "s3-upload-concurrency", kind: .boundedCount(1...64), defaultValue: "4", isSecret: false,
            summary: "parts of one S3 multipart upload sent at once (memory: this × s3-part-size)"),
        ConfigKey(
            name: "prefetch", kind: .boundedCount(1...32), defaultValue: "3", isSecret: false,
            summary: "replay: snapshots fetched, checked and decompressed ahead of the one being applied"),
        ConfigKey(
            name: "compression", kind: .text, defaultValue: "zstd:1", isSecret: false,
            summary: "segment compression of a new archive: zstd[:LEVEL], gzip[:LEVEL] or none"),
        ConfigKey(
            name: "partitioning", kind: .choice(["category-day", "day", "none"]), defaultValue: "category-day",
            isSecret: false, summary: "Hive partitioning of a new archive"),
        ConfigKey(
            name: "target-size", kind: .size, defaultValue: "64MiB", isSecret: false,
            summary: "uncompressed bytes per snapshot"),
        ConfigKey(
            name: "signing-key", kind: .text, defaultValue: nil, isSecret: false,
            summary: "private key file that signs new manifests"),
        ConfigKey(
            name: "subject-field", kind: .text, defaultValue: nil, isSecret: false,
            summary: "metadata member naming each event's subject: its data is archived encrypted (forget)"),
        ConfigKey(
            name: "checkpoint-every", kind: .count, defaultValue: "1000", isSecret: false,
            summary: "snapshots between catalog checkpoints (0: none)"),
        ConfigKey(
            name: "compact-target-size", kind: .size, defaultValue: "256MiB", isSecret: false,
            summary: "compact: uncompressed bytes per generation snapshot"),
        ConfigKey(
            name: "compact-retention", kind: .text, defaultValue: "0d", isSecret: false,
            summary: "compact --retire: keep objects younger than this age (e.g. 30d; at least the S3 Object Lock days)"
        ),
        ConfigKey(
            name: "compact-every", kind: .text, defaultValue: nil, isSecret: false,
            summary: "serve: run `archiver compact` this often, e.g. 24h (default: never)"),
        ConfigKey(
            name: "trusted-keys", kind: .list(separator: ":"), defaultValue: nil, isSecret: false,
            summary: "public key files whose signatures are trusted"),
        ConfigKey(
            name: "host", kind: .text, defaultValue: "127.0.0.1", isSecret: false,
            summary: "serve: address to listen on"),
        ConfigKey(
            name: "port", kind: .port, defaultValue: "8080", isSecret: false,
            summary: "serve: TCP port (0: any free port; the bound address is printed)"),
        ConfigKey(
            name: "tokens", kind: .list(separator: " "), defaultValue: nil, isSecret: true,
            summary: "serve: API tokens as NAME:SCOPES:SHA256 lines from `archiver tokens generate`"),
        ConfigKey(
            name: "max-body-bytes", kind: .size, defaultValue: "8MiB", isSecret: false,
            summary: "serve: largest request body"),
        ConfigKey(
            name: "flush-interval", kind: .seconds, defaultValue: "5", isSecret: false,
            summary: "serve: seconds between scheduled flush passes (0: no scheduled flush)"),
        ConfigKey(
            name: "lease-ttl", kind: .seconds, defaultValue: "30", isSecret: false,
            summary: "serve: how long the flush lease outlives its holder's last pass"),
        ConfigKey(
            name: "holder", kind: .text, defaultValue: nil, isSecret: false,
            summary: "serve: this replica's name in the flush lease (default HOST/PID)"),
        ConfigKey(
            name: "ready-max-lag-events", kind: .count, defaultValue: "100000", isSecret: false,
            summary: "serve: /ready fails when more events than this wait to be flushed"),
        ConfigKey(
            name: "ready-max-lag-seconds", kind: .seconds, defaultValue: "300", isSecret: false,
            summary: "serve: /ready fails when the oldest unflushed event is older than this"),
        ConfigKey(
            name: "shutdown-deadline", kind: .seconds, defaultValue: "25", isSecret: false,
            summary: "serve: seconds a graceful shutdown may take before work is cancelled"),
        ConfigKey(
            name: "log-level", kind: .choice(["trace", "debug", "info", "notice", "warning", "error", "critical"]),
            defaultValue: "info", isSecret: false, summary: "serve: log level"),
    ]
}

/// S3's documented limits that the configuration checks against.
enum S3Limits {
    /// A part (and so the multipart threshold) is 5 MiB to 5 GiB; a single PUT is at most 5 GiB too.
    static let partSize = (5 << 20)...(5 << 30)
}
