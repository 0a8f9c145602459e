import Synchronization

/// One Lode dataset in an ``ObjectStore``: an append-only chain of snapshots, each a delta (LODE_FORMAT.md §1).
///
/// Reads follow Go's rules (pointer, then scan) but never write: Swift readers do not self-heal the pointer
/// (§8 A5). Writes follow the §4.7 protocol: data objects first (create-only), then the pointer CAS, then the
/// manifest(s) — the manifest is the commit.
///
/// ```swift
/// let dataset = try LodeDataset(store: FileStore(root: "./archive"), datasetID: "orders", compressor: .zstd())
/// let manifest = try await dataset.write(records: [Array(#"{"id":1}"#.utf8)])
/// try await dataset.forEachRecord(in: manifest) { line in print(String(decoding: line, as: UTF8.self)) }
/// ```
public struct LodeDataset: Sendable {
    /// What a dataset is and how it is written.
    public struct Configuration: Sendable, Hashable {
        public var datasetID: String
        public var layout: LodeLayout
        public var codec: LodeCodec
        public var compressor: LodeCompressor
        public var checksum: LodeChecksum
        /// Records of this many bytes or more are refused by writers (§8 A16).
        public var maxRecordBytes: Int
        /// When `latest` names a snapshot whose manifest is missing, a committing writer re-reads it this many
        /// times before falling back to a scan: it may be another writer's commit in flight (§4.7 step 3).
        public var pointerSettleAttempts: Int
        public var pointerSettleDelay: Duration
        /// Where ``SegmentFileWriter``s stage files (`$TMPDIR` or `/tmp` when `nil`).
        public var stagingDirectory: String?

        public init(
            datasetID: String, layout: LodeLayout = .default, codec: LodeCodec = .jsonl,
            compressor: LodeCompressor = .zstd(), checksum: LodeChecksum = .md5,
            maxRecordBytes: Int = SegmentFileWriter.defaultMaxLineBytes, pointerSettleAttempts: Int = 3,
            pointerSettleDelay: Duration = .milliseconds(100), stagingDirectory: String? = nil
        ) {
            self.datasetID = datasetID
            self.layout = layout
            self.codec = codec
            self.compressor = compressor
            self.checksum = checksum
            self.maxRecordBytes = maxRecordBytes
            self.pointerSettleAttempts = pointerSettleAttempts
            self.pointerSettleDelay = pointerSettleDelay
            self.stagingDirectory = stagingDirectory
        }
    }

    public let store: any ObjectStore
    public let configuration: Configuration

    /// - Throws: ``LodeError/Code/invalidConfiguration`` for an ID outside §8 A10's character set, or a hive
    ///   layout without valid keys used with a codec it cannot take.
    public init(store: any ObjectStore, configuration: Configuration) throws {
        try LodeLayout.validateDatasetID(configuration.datasetID)
        if configuration.layout.isHive, configuration.codec == .none {
            throw LodeError(.invalidConfiguration, "the hive layout needs a codec (raw blobs cannot be partitioned)")
        }
        self.store = store
        self.configuration = configuration
    }

    /// Convenience initializer; see ``Configuration``.
    public init(
        store: any ObjectStore, datasetID: String, layout: LodeLayout = .default, codec: LodeCodec = .jsonl,
        compressor: LodeCompressor = .zstd(), checksum: LodeChecksum = .md5
    ) throws {
        try self.init(
            store: store,
            configuration: Configuration(
                datasetID: datasetID, layout: layout, codec: codec, compressor: compressor, checksum: checksum))
    }

    public var id: String { configuration.datasetID }
    public var layout: LodeLayout { configuration.layout }

    // MARK: Keys

    /// `…/latest`.
    public var latestPointerKey: String { layout.latestPointerKey(dataset: id) }

    /// The canonical manifest key of a snapshot.
    public func manifestKey(snapshotID: String) -> String {
        layout.manifestKey(dataset: id, snapshot: snapshotID)
    }

    /// A snapshot's directory (no trailing `/`); for hive, `partition` selects a partition directory.
    public func snapshotDirectory(snapshotID: String, partition: [(key: String, value: String)] = []) -> String {
        layout.snapshotDirectory(dataset: id, snapshot: snapshotID, partition: LodeLayout.partitionPath(partition))
    }

    /// The key of a data object: `<snapshot dir>/data/<fileName>`; `fileName` defaults to `data<ext>` or
    /// `blob<ext>` by the configured codec and compressor (§2.1). `partition` is hive-only.
    public func dataFileKey(
        snapshotID: String, partition: [(key: String, value: String)] = [], fileName: String? = nil
    ) -> String {
        layout.dataFileKey(
            dataset: id, snapshot: snapshotID, partition: LodeLayout.partitionPath(partition),
            fileName: fileName ?? defaultFileName)
    }

    /// `data<ext>` or `blob<ext>`.
    public var defaultFileName: String {
        configuration.codec.baseFileName + configuration.compressor.fileExtension
    }

    /// A staging writer configured with this dataset's compressor and record limit.
    public func makeSegmentWriter() throws -> SegmentFileWriter {
        try SegmentFileWriter(
            compressor: configuration.compressor, directory: configuration.stagingDirectory,
            maxLineBytes: configuration.maxRecordBytes)
    }
}

/// Snapshot IDs: strictly increasing decimal Unix nanoseconds within a process (§8 A4).
public enum SnapshotIDs {
    private static let lastIssued = Mutex<Int64>(0)

    /// `max(now in ns, last issued + 1, after + 1)` as a decimal string (19 digits until 2286).
    /// - Parameter after: an existing ID (e.g. the current head) the new one must exceed when it is decimal.
    public static func next(after: String? = nil) -> String {
        let now = LodeTimestamp.now().unixNanoseconds ?? 0
        let floor = after.flatMap { Int64($0) } ?? 0
        let id = lastIssued.withLock { last -> Int64 in
            let next = Swift.max(now, last + 1, floor < Int64.max ? floor + 1 : floor)
            last = next
            return next
        }
        return String(id)
    }
}
