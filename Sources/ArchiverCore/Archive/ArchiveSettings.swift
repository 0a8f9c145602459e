public import ArchiveFormat

/// How the archive is laid out and compressed. Fixed per archive: changing the compressor or the
/// partitioning of an existing events dataset is refused (Go Lode cannot read mixed components, §8 A12).
public struct ArchiveSettings: Sendable, Hashable {
    /// The Lode dataset that holds event records.
    public var datasetID: String = "events"
    public var partitioning: ArchivePartitioning = .categoryDay
    public var compression: ArchiveCompression = .zstd(level: 1)
    /// A snapshot ends once this many uncompressed record bytes were written (64 MiB default).
    public var targetSnapshotBytes: Int = 64 << 20
    /// A snapshot also ends once it spans this many partitions: each open partition holds a compressor.
    public var maxPartitionsPerSnapshot: Int = 64
    /// The record format of a new archive; an existing one keeps the format of its head manifest.
    public var recordFormat: RecordFormat = .newArchiveDefault

    public init() {}
}

public enum ArchiveCompression: Sendable, Hashable, CustomStringConvertible {
    case zstd(level: Int32)
    case gzip(level: Int32)
    case none

    public var description: String {
        switch self {
        case .zstd(let level): "zstd level \(level)"
        case .gzip(let level): "gzip level \(level)"
        case .none: "none"
        }
    }

    /// Parses `zstd`, `zstd:3`, `gzip`, `gzip:9`, `none`.
    public init?(parsing text: String) {
        let parts = text.split(separator: ":", maxSplits: 1).map(String.init)
        let level = parts.count == 2 ? Int32(parts[1]) : nil
        if parts.count == 2 && level == nil { return nil }
        switch parts[0] {
        case "zstd": self = .zstd(level: level ?? 1)
        case "gzip": self = .gzip(level: level ?? 6)
        case "none", "noop": self = .none
        default: return nil
        }
    }
}
