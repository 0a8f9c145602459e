import ArchiveFormat
import Crypto
import Foundation
public import Lode
import RawJSON

/// The archive: an object store holding the `events` Lode dataset; aggregate snapshots live beside it under
/// `aggregates/` (see ``AggregateSnapshots``).
///
/// ```swift
/// let archive = try Archive(store: FileStore(root: "./archive"))
/// let head = try await archive.events.head()
/// ```
public struct Archive: Sendable {
    public let store: any ObjectStore
    public let settings: ArchiveSettings
    public let events: LodeDataset
    /// Signs each new manifest when set.
    public var signer: ManifestSigner?
    /// Public keys `verify` and replay accept signatures from; when non-empty, unsigned manifests are reported.
    public var trustedKeys = TrustedKeys()

    public init(store: any ObjectStore, settings: ArchiveSettings = ArchiveSettings()) throws {
        self.store = store
        self.settings = settings
        self.events = try LodeDataset(store: store, configuration: Self.datasetConfig(for: settings))
    }

    static func datasetConfig(for settings: ArchiveSettings) -> LodeDataset.Configuration {
        let layout: LodeLayout = settings.partitioning.keys.isEmpty ? .default : .hive(keys: settings.partitioning.keys)
        return LodeDataset.Configuration(
            datasetID: settings.datasetID, layout: layout, codec: .jsonl,
            compressor: lodeCompressor(settings.compression),
            checksum: .md5)
    }

    static func lodeCompressor(_ compression: ArchiveCompression) -> LodeCompressor {
        switch compression {
        case .zstd(let level): .zstd(level: level)
        case .gzip(let level): .gzip(level: level)
        case .none: .noop
        }
    }

    func makeSegmentWriter(spoolDirectory: String) throws -> SegmentFileWriter {
        try SegmentFileWriter(
            compressor: Self.lodeCompressor(settings.compression), directory: spoolDirectory, background: true)
    }

    /// Decompresses a stored data object with this archive's compressor.
    func decompress(_ stored: [UInt8]) throws -> [UInt8] {
        try Self.lodeCompressor(settings.compression).decompress(stored)
    }

    /// SHA-256 (hex) of a snapshot's stored manifest bytes: what the next manifest commits to.
    func manifestSHA256(snapshotID: String) async throws -> String {
        let bytes = try await store.get(events.manifestKey(snapshotID: snapshotID))
        return HexCoding.encode(SHA256.hash(data: bytes))
    }

    /// Refuses to append to an archive written with another compressor or partitioning (§8 A12).
    func checkSettingsMatchArchive(_ head: Manifest?) throws {
        guard let head else { return }
        let compressor = Self.lodeCompressor(settings.compression).manifestName
        let partitioner = settings.partitioning.keys.isEmpty ? "noop" : "hive"
        guard head.compressor == compressor, head.partitioner == partitioner else {
            throw ArchiverError(
                .invalidArgument,
                "the archive's events dataset uses compressor '\(head.compressor)' and partitioner "
                    + "'\(head.partitioner)', but this flush is configured for '\(compressor)' and '\(partitioner)'; "
                    + "use the archive's settings (a dataset never mixes components)")
        }
    }
}

extension Manifest {
    /// The string-valued metadata entries (archive facts are all strings).
    var stringMetadata: [String: String] {
        metadata.compactMapValues { if case .string(let s) = $0 { s } else { nil } }
    }
}

extension Archive {
    /// Opens the archive in `store`, taking the layout and compressor from its events dataset when it has
    /// one, and `preferred` for a new archive.
    ///
    /// The manifest the `latest` pointer names tells (no listing: opening costs the same at any archive size):
    /// `compressor` gives the compression, and the partition keys in its file paths (`…/partitions/category=…/day=…/segments/…`) give the partitioning.
    public static func open(
        store: any ObjectStore, preferred: ArchiveSettings = ArchiveSettings()
    ) async throws
        -> Archive
    {
        var settings = preferred
        for partitioning in [preferred.partitioning] + ArchivePartitioning.allCases
        where partitioning != preferred.partitioning || true {
            settings.partitioning = partitioning
            let candidate = try Archive(store: store, settings: settings)
            guard let head = try? await candidate.events.pointedSnapshot() else { continue }
            let keys = Self.partitionKeys(of: head)
            guard keys == partitioning.keys else { continue }
            switch head.compressor {
            case "zstd": if case .zstd = preferred.compression {} else { settings.compression = .zstd(level: 1) }
            case "gzip": if case .gzip = preferred.compression {} else { settings.compression = .gzip(level: 6) }
            case "noop": settings.compression = .none
            default:
                throw ArchiverError(
                    .unreadable, "the events dataset uses compressor '\(head.compressor)', which archiver cannot read")
            }
            return try Archive(store: store, settings: settings)
        }
        return try Archive(store: store, settings: preferred)
    }

    /// The hive keys in a manifest's data file paths, in path order ([] for the default layout).
    static func partitionKeys(of manifest: Manifest) -> [String] {
        guard let path = manifest.files.first?.path else { return [] }
        let segments = path.split(separator: "/")
        guard let start = segments.firstIndex(of: "partitions"), let end = segments.firstIndex(of: "segments"),
            start < end
        else { return [] }
        return segments[(start + 1)..<end].compactMap { $0.split(separator: "=", maxSplits: 1).first.map(String.init) }
    }
}

extension Archive {
    /// A dataset the archiver keeps beside the events dataset (`catalog`, `drills`): default layout, JSON lines,
    /// zstd level 3, MD5; named `<events>-<name>` when the events dataset is not called `events`.
    func sideDataset(_ name: String) throws -> LodeDataset {
        let events = settings.datasetID
        return try LodeDataset(
            store: store, datasetID: events == "events" ? name : "\(events)-\(name)", layout: .default,
            codec: .jsonl, compressor: .zstd(level: 3), checksum: .md5)
    }
}
