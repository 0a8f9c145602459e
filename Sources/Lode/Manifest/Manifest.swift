/// A dataset snapshot's manifest (LODE_FORMAT.md §3.2): the commit record of one snapshot, listing only the
/// files that snapshot wrote (snapshots are deltas; the archive is the parent chain).
///
/// Timestamps are kept as RFC 3339 text so a manifest read from the store re-serializes byte for byte; use
/// ``LodeTimestamp`` to interpret them. Component names are kept as text so a manifest written by another
/// implementation (e.g. `codec: "parquet"`) still decodes; readers reject what they cannot read.
///
/// ```swift
/// let manifest = try Manifest.decode(bytes, key: "datasets/orders/snapshots/1/manifest.json")
/// let json = manifest.jsonBytes() // Go's json.MarshalIndent(m, "", "  ")
/// ```
public struct Manifest: Sendable, Hashable {
    /// `"lode-manifest"`.
    public static let currentSchemaName = "lode-manifest"
    /// `"1.0.0"`.
    public static let currentFormatVersion = "1.0.0"

    public var schemaName: String
    public var formatVersion: String
    public var datasetID: String
    public var snapshotID: String
    /// RFC 3339; Go writes UTC with trailing fractional zeros trimmed.
    public var createdAt: String
    /// Caller key/values, stored verbatim. Never `null` on disk.
    public var metadata: [String: JSONValue]
    /// The files of this snapshot, sorted by `path` (byte order) when written.
    public var files: [FileRef]
    /// The previous head; `nil` (or empty) for the first snapshot.
    public var parentSnapshotID: String?
    /// Number of records, or 1 for a raw blob.
    public var rowCount: Int64
    public var minTimestamp: String?
    public var maxTimestamp: String?
    /// `"jsonl"`, `"parquet"`, or `nil` for a raw blob.
    public var codec: String?
    /// `"noop"`, `"gzip"` or `"zstd"`.
    public var compressor: String
    /// `"noop"` or `"hive"`.
    public var partitioner: String
    /// `"md5"`, or `nil` when checksums are off.
    public var checksumAlgorithm: String?

    public init(
        schemaName: String = Manifest.currentSchemaName, formatVersion: String = Manifest.currentFormatVersion,
        datasetID: String, snapshotID: String, createdAt: String, metadata: [String: JSONValue] = [:],
        files: [FileRef], parentSnapshotID: String? = nil, rowCount: Int64, minTimestamp: String? = nil,
        maxTimestamp: String? = nil, codec: String?, compressor: String, partitioner: String,
        checksumAlgorithm: String?
    ) {
        self.schemaName = schemaName
        self.formatVersion = formatVersion
        self.datasetID = datasetID
        self.snapshotID = snapshotID
        self.createdAt = createdAt
        self.metadata = metadata
        self.files = files
        self.parentSnapshotID = parentSnapshotID
        self.rowCount = rowCount
        self.minTimestamp = minTimestamp
        self.maxTimestamp = maxTimestamp
        self.codec = codec
        self.compressor = compressor
        self.partitioner = partitioner
        self.checksumAlgorithm = checksumAlgorithm
    }

    /// The parent snapshot ID, with Go's empty string read as "no parent".
    public var parent: String? {
        guard let parentSnapshotID, !parentSnapshotID.isEmpty else { return nil }
        return parentSnapshotID
    }
}

/// One data object of a snapshot (`files[]`).
public struct FileRef: Sendable, Hashable {
    /// The full store-relative key of the object (LODE_FORMAT.md §8 A2), never S3-prefixed.
    public var path: String
    /// The stored (compressed) size.
    public var sizeBytes: Int64
    /// Lowercase hex MD5 of the stored bytes, when checksums are on.
    public var checksum: String?
    /// Per-file statistics reported by a codec (JSONL never reports any).
    public var stats: FileStats?

    public init(path: String, sizeBytes: Int64, checksum: String? = nil, stats: FileStats? = nil) {
        self.path = path
        self.sizeBytes = sizeBytes
        self.checksum = checksum
        self.stats = stats
    }
}

/// `files[].stats`.
public struct FileStats: Sendable, Hashable {
    public var rowCount: Int64
    /// Omitted from the JSON when empty.
    public var columns: [ColumnStats]

    public init(rowCount: Int64, columns: [ColumnStats] = []) {
        self.rowCount = rowCount
        self.columns = columns
    }
}

/// `files[].stats.columns[]`.
public struct ColumnStats: Sendable, Hashable {
    public var name: String
    /// Omitted when `nil` or JSON `null`.
    public var min: JSONValue?
    /// Omitted when `nil` or JSON `null`.
    public var max: JSONValue?
    public var nullCount: Int64
    /// 0 means "not computed" and is omitted.
    public var distinctCount: Int64

    public init(
        name: String, min: JSONValue? = nil, max: JSONValue? = nil, nullCount: Int64 = 0, distinctCount: Int64 = 0
    ) {
        self.name = name
        self.min = min
        self.max = max
        self.nullCount = nullCount
        self.distinctCount = distinctCount
    }
}
