import ArchiveFormat
import Coordination
import Foundation
import Lode

/// Encodes events into one snapshot's per-partition segment files, staged on local disk.
///
/// Memory stays bounded: each open partition holds one streaming compressor, and a snapshot ends at
/// `targetSnapshotBytes` of records or `maxPartitionsPerSnapshot` partitions.
struct SegmentBuilder {
    let archive: Archive
    let snapshotID: String
    let spoolDirectory: String
    private(set) var encoder: RecordEncoder
    private var files: [String: PartitionFile] = [:]
    /// The partition of the previous event: consecutive events mostly share one.
    private var lastFile: (key: String, file: PartitionFile)?
    /// Partition order of first appearance, so the files list is deterministic.
    private var order: [String] = []
    private var line: [UInt8] = []
    /// The records tree over the chain hashes, for `archiver.records_root`, built on a worker queue.
    private let tree = BackgroundRecordsTree()
    private(set) var count: Int64 = 0
    private(set) var firstPosition: Int64 = 0
    private(set) var lastPosition: Int64 = 0
    private(set) var bytesIn: Int64 = 0
    private var minRecordedAt = Int64.max
    private var maxRecordedAt = Int64.min
    /// Each stream's partition key for the day it was last seen on: one dictionary lookup per event instead of
    /// building the category and day strings again.
    private var partitionKeys: [String: (day: Int64, key: String)] = [:]

    var chain: ChainHash { encoder.chain }

    init(archive: Archive, snapshotID: String, chain: ChainHash, spoolDirectory: String) {
        self.archive = archive
        self.snapshotID = snapshotID
        self.spoolDirectory = spoolDirectory
        self.encoder = RecordEncoder(chain: chain)
        line.reserveCapacity(4096)
    }

    /// True if adding `event` would exceed the snapshot's size or partition limits (never for the first event).
    mutating func isFull(addingPartitionFor event: RecordedEvent) -> Bool {
        guard count > 0 else { return false }
        if bytesIn >= Int64(archive.settings.targetSnapshotBytes) { return true }
        return file(for: event) == nil && files.count >= archive.settings.maxPartitionsPerSnapshot
    }

    /// Adds `event`, whose record body (``RecordEncoder/appendBody``) is `body` and whose stream has the
    /// ``StreamHash/fnv1a64(_:)`` value `streamHash`: seals it onto the chain and writes it to its partition's
    /// file.
    mutating func add(_ event: RecordedEvent, body: UnsafeRawBufferPointer, streamHash: UInt64) throws {
        let file: PartitionFile
        if let existing = self.file(for: event) {
            file = existing
        } else {
            let values = archive.settings.partitioning.values(
                stream: event.stream, recordedAtNanos: event.recordedAtNanos)
            let partition = zip(archive.settings.partitioning.keys, values).map { (key: $0, value: $1) }
            file = PartitionFile(
                partition: partition, writer: try archive.makeSegmentWriter(spoolDirectory: spoolDirectory))
            let key = partitionKey(for: event)
            files[key] = file
            order.append(key)
            lastFile = (key, file)
        }
        line.removeAll(keepingCapacity: true)
        line.append(contentsOf: body)
        encoder.seal(&line, bodyStart: 0)
        tree.append(chainHash: encoder.chain)
        try line.withUnsafeBytes { try file.writer.append(line: $0) }
        file.streamHashes.insert(streamHash)
        if count == 0 { firstPosition = event.position }
        lastPosition = event.position
        count += 1
        bytesIn += Int64(line.count + 1)
        minRecordedAt = min(minRecordedAt, event.recordedAtNanos)
        maxRecordedAt = max(maxRecordedAt, event.recordedAtNanos)
        if count == 2 { CrashPoints.hit(.midSegment) }
    }

    /// Closes every partition file and returns the staged snapshot.
    mutating func finish(intent: FlushIntent) throws -> Flusher.StagedSnapshot {
        var staged: [Flusher.StagedPartitionFile] = []
        for key in order {
            let file = files[key]!
            staged.append(
                Flusher.StagedPartitionFile(
                    partition: file.partition, staged: try file.writer.finish(),
                    streamFilter: StreamFilter(streamHashes: file.streamHashes)))
        }
        files.removeAll()
        lastFile = nil
        return Flusher.StagedSnapshot(
            intent: intent, files: staged, recordsRoot: tree.root(), minRecordedAt: minRecordedAt,
            maxRecordedAt: maxRecordedAt,
            bytesIn: bytesIn)
    }

    /// Removes staged files after a failure.
    mutating func discard() {
        for (_, file) in files { file.writer.discard() }
        files.removeAll()
        lastFile = nil
    }

    /// The open file of `event`'s partition, if any.
    private mutating func file(for event: RecordedEvent) -> PartitionFile? {
        let key = partitionKey(for: event)
        if let lastFile, lastFile.key == key { return lastFile.file }
        guard let file = files[key] else { return nil }
        lastFile = (key, file)
        return file
    }

    private mutating func partitionKey(for event: RecordedEvent) -> String {
        let day = event.recordedAtNanos >= 0 ? event.recordedAtNanos / 86_400_000_000_000 : -1
        if let cached = partitionKeys[event.stream], cached.day == day { return cached.key }
        let values = archive.settings.partitioning.values(stream: event.stream, recordedAtNanos: event.recordedAtNanos)
        let key = values.joined(separator: "/")
        partitionKeys[event.stream] = (day, key)
        return key
    }
}

/// One partition's file of the snapshot being built.
final class PartitionFile {
    let partition: [(key: String, value: String)]
    let writer: SegmentFileWriter
    /// The distinct streams written to it (``StreamHash/fnv1a64(_:)``), for its ``StreamFilter``.
    var streamHashes: Set<UInt64> = []

    init(partition: [(key: String, value: String)], writer: SegmentFileWriter) {
        self.partition = partition
        self.writer = writer
    }
}

/// Folds chain hashes into a ``RecordsTree`` on a serial worker queue, in order, so the tree's hashing (two
/// SHA-256 calls per record) runs beside the flusher's chain hashing instead of after it. At most eight batches
/// are in flight.
final class BackgroundRecordsTree: @unchecked Sendable {
    private static let batchSize = 4096
    private let queue = DispatchQueue(label: "archiver.records-tree")
    private let inFlight = DispatchSemaphore(value: 8)
    /// Touched only on `queue`.
    private var accumulator = RecordsTree.Accumulator()
    /// Touched only by the owner.
    private var pending: [ChainHash] = []

    init() {
        pending.reserveCapacity(Self.batchSize)
    }

    func append(chainHash: ChainHash) {
        pending.append(chainHash)
        if pending.count == Self.batchSize { submit() }
    }

    /// The root over every hash appended so far.
    func root() -> ChainHash {
        submit()
        return queue.sync { accumulator.root }
    }

    private func submit() {
        guard !pending.isEmpty else { return }
        let batch = pending
        pending = []
        pending.reserveCapacity(Self.batchSize)
        inFlight.wait()
        queue.async {
            for hash in batch { self.accumulator.append(chainHash: hash) }
            self.inFlight.signal()
        }
    }
}
