public import Lode

/// What one Lode dataset of the archive costs to store: snapshots, data files, records and bytes.
public struct DatasetStats: Sendable, Hashable {
    public var datasetID: String
    public var snapshots = 0
    public var files = 0
    /// Records over every snapshot (events in the events dataset and its generations).
    public var records: Int64 = 0
    /// Bytes of the data files as stored (compressed), from the manifests.
    public var storedBytes: Int64 = 0
    /// Bytes of the data files once decompressed; nil unless measured.
    public var uncompressedBytes: Int64?

    public init(datasetID: String) {
        self.datasetID = datasetID
    }

    /// Stored bytes per record; nil for a dataset without records.
    public var bytesPerRecord: Double? {
        records > 0 ? Double(storedBytes) / Double(records) : nil
    }

    /// Uncompressed bytes over stored bytes; nil when not measured or nothing is stored.
    public var compressionRatio: Double? {
        guard let uncompressedBytes, storedBytes > 0 else { return nil }
        return Double(uncompressedBytes) / Double(storedBytes)
    }
}

/// Storage cost by dataset, for `archiver stats`.
///
/// Counts come from the manifests alone: every snapshot of the dataset (forks and superseded compaction
/// generations included, since they are stored too). Uncompressed sizes, when asked for, come from the data
/// files: the content size each zstd frame header records (what the segment writer writes), else by
/// decompressing the object.
///
/// ```swift
/// let stats = try await ArchiveStats.collect(store: archive.store, uncompressed: true)
/// ```
public enum ArchiveStats {
    /// Where datasets live in an archive's store: at its root (events, generations, drills, the catalog) and
    /// under `aggregates/` (aggregate snapshots, named `aggregates/<projection>` here).
    static let prefixes = ["", "aggregates/"]  // the second as in ``AggregateSnapshots``

    /// One entry per dataset of the archive, in name order within each prefix.
    /// - Parameter uncompressed: also read every data file to measure its decompressed size.
    /// - Throws: Lode errors: an undecodable manifest, an unreadable or damaged data file.
    public static func collect(store: any ObjectStore, uncompressed: Bool) async throws -> [DatasetStats] {
        var result: [DatasetStats] = []
        for prefix in prefixes {
            let scoped: any ObjectStore = prefix.isEmpty ? store : PrefixedStore(base: store, prefix: prefix)
            for found in try await LodeStore.discover(in: scoped).sorted(by: { $0.datasetID < $1.datasetID }) {
                let dataset = try LodeDataset(store: scoped, datasetID: found.datasetID, layout: found.layout)
                var stats = try await collect(dataset, uncompressed: uncompressed)
                stats.datasetID = prefix + found.datasetID
                result.append(stats)
            }
        }
        return result
    }

    /// The totals of one dataset over all its snapshots.
    static func collect(_ dataset: LodeDataset, uncompressed: Bool) async throws -> DatasetStats {
        var stats = DatasetStats(datasetID: dataset.id)
        var measured: Int64 = 0
        for manifest in try await dataset.allManifests() {
            stats.snapshots += 1
            stats.files += manifest.files.count
            stats.storedBytes += manifest.files.reduce(0) { $0 + $1.sizeBytes }
            // A raw blob's row count is 1 by convention; it holds no records.
            stats.records += manifest.codec == nil ? 0 : manifest.rowCount
            guard uncompressed else { continue }
            for file in manifest.files {
                measured += try await uncompressedSize(of: file, in: manifest, dataset: dataset)
            }
        }
        if uncompressed { stats.uncompressedBytes = measured }
        return stats
    }

    /// The decompressed size of one data file: the sum of its zstd frames' recorded content sizes, or the
    /// length of the decompressed bytes when a frame leaves its size out (or the file is not zstd).
    static func uncompressedSize(of file: FileRef, in manifest: Manifest, dataset: LodeDataset) async throws -> Int64 {
        if manifest.compressor == "zstd" {
            let (_, stored) = try await dataset.readStoredFile(file, manifest: manifest)
            let sizes = stored.withUnsafeBytes { DataObjectDecoder.frames(in: $0)?.map(\.contentSize) }
            if let sizes, !sizes.contains(nil) { return sizes.reduce(0) { $0 + Int64($1!) } }
        }
        return Int64(try await dataset.readFile(file, manifest: manifest).count)
    }
}
