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
    /// The current record's rest after its body (its hash member in v1), rewritten per record.
    private var rest: [UInt8]
    /// Open files by partition slot (``PartitionSlots``), and the slots in order of first appearance, so the
    /// files list is deterministic.
    private var files: [PartitionFile?] = []
    private var order: [Int] = []
    /// By stream number (``PageEvent/stream``): the slot of the file its hash was last added to, or -1. At most
    /// ``maxTrackedStreams`` numbers (1 MiB).
    private var fileOfStream: [Int32] = []
    static let maxTrackedStreams = 1 << 18
    /// The records tree over the chain hashes, for `archiver.records_root`, built on a worker queue.
    private let tree = BackgroundRecordsTree()
    private(set) var count: Int64 = 0
    private(set) var firstPosition: Int64 = 0
    private(set) var lastPosition: Int64 = 0
    private(set) var bytesIn: Int64 = 0
    /// The snapshot's size as format 1 would write it (each record with its hash member), which the size limit
    /// counts: both formats then end snapshots after the same events, so their manifests compare one to one.
    private var limitBytes: Int64 = 0
    private var minRecordedAt = Int64.max
    private var maxRecordedAt = Int64.min

    var chain: ChainHash { encoder.chain }

    init(archive: Archive, snapshotID: String, chain: ChainHash, format: RecordFormat, spoolDirectory: String) {
        self.archive = archive
        self.snapshotID = snapshotID
        self.spoolDirectory = spoolDirectory
        self.encoder = RecordEncoder(chain: chain, format: format)
        self.rest = [UInt8](repeating: 0, count: format.restCount)
    }

    /// True if adding `event` would exceed the snapshot's size or partition limits (never for the first event).
    func isFull(adding event: PageEvent) -> Bool {
        guard count > 0 else { return false }
        if limitBytes >= Int64(archive.settings.targetSnapshotBytes) { return true }
        return file(slot: event.slot) == nil && order.count >= archive.settings.maxPartitionsPerSnapshot
    }

    /// Adds `event`, whose partition values are `partition`: seals its body onto the chain and writes the
    /// record to its partition's file.
    mutating func add(_ event: PageEvent, partition: [String]) throws {
        let file: PartitionFile
        if let existing = self.file(slot: event.slot) {
            file = existing
        } else {
            file = PartitionFile(
                partition: zip(archive.settings.partitioning.keys, partition).map { (key: $0, value: $1) },
                writer: try archive.makeSegmentWriter(spoolDirectory: spoolDirectory))
            if files.count <= event.slot { files += Array(repeating: nil, count: event.slot + 1 - files.count) }
            files[event.slot] = file
            order.append(event.slot)
        }
        if file.lineCount == 0 { file.chainStart = encoder.chain }
        if file.writer.nextLineStartsFrame { file.frameChainStarts.append(encoder.chain) }
        try rest.withUnsafeMutableBytes { rest in
            encoder.seal(body: event.body, restTo: rest.baseAddress!)
            try file.writer.append(line: event.body, then: UnsafeRawBufferPointer(rest))
        }
        file.lineCount += 1
        file.chainHead = encoder.chain
        tree.append(chainHash: encoder.chain)
        // A stream's events mostly land in one file per snapshot: insert its hash when it changes file. Streams
        // numbered beyond the array's cap are inserted every time (a set insert is all the skip saves).
        if event.stream < Self.maxTrackedStreams {
            if event.stream >= fileOfStream.count {
                fileOfStream.append(contentsOf: repeatElement(-1, count: event.stream + 1 - fileOfStream.count))
            }
            if fileOfStream[event.stream] != Int32(event.slot) {
                file.streamHashes.insert(event.streamHash)
                fileOfStream[event.stream] = Int32(event.slot)
            }
        } else {
            file.streamHashes.insert(event.streamHash)
        }
        if count == 0 { firstPosition = event.position }
        lastPosition = event.position
        count += 1
        bytesIn += Int64(event.body.count + rest.count + 1)
        limitBytes += Int64(event.body.count + RecordFormat.v1.restCount + 1)
        minRecordedAt = min(minRecordedAt, event.recordedAtNanos)
        maxRecordedAt = max(maxRecordedAt, event.recordedAtNanos)
        if count == 2 { CrashPoints.hit(.midSegment) }
    }

    /// Closes every partition file and returns the staged snapshot.
    mutating func finish(intent: FlushIntent) async throws -> Flusher.StagedSnapshot {
        var staged: [Flusher.StagedPartitionFile] = []
        for slot in order {
            let file = files[slot]!
            let stagedFile = try await file.writer.finish()
            staged.append(
                Flusher.StagedPartitionFile(
                    partition: file.partition, staged: stagedFile,
                    streamFilter: StreamFilter(streamHashes: file.streamHashes),
                    chain: FileChain(start: file.chainStart, head: file.chainHead),
                    frames: ArchiveFrame.index(of: stagedFile, chainStarts: file.frameChainStarts)))
        }
        files.removeAll()
        order.removeAll()
        return Flusher.StagedSnapshot(
            intent: intent, format: encoder.format, files: staged, recordsRoot: tree.root(),
            minRecordedAt: minRecordedAt,
            maxRecordedAt: maxRecordedAt,
            bytesIn: bytesIn)
    }

    /// Removes staged files after a failure.
    mutating func discard() {
        for slot in order { files[slot]?.writer.discard() }
        files.removeAll()
        order.removeAll()
    }

    /// The open file of partition `slot`, if any.
    private func file(slot: Int) -> PartitionFile? {
        slot < files.count ? files[slot] : nil
    }
}

/// One partition's file of the snapshot being built.
final class PartitionFile {
    let partition: [(key: String, value: String)]
    let writer: SegmentFileWriter
    /// The distinct streams written to it (``StreamHash/fnv1a64(_:)``), for its ``StreamFilter``.
    var streamHashes: Set<UInt64> = []
    /// The chain value before its first record and after its last (its ``FileChain``).
    var chainStart = ChainHash.genesis
    var chainHead = ChainHash.genesis
    /// The chain value before each record that starts a zstd frame (its ``ArchiveFrame/chainStart``).
    var frameChainStarts: [ChainHash] = []
    var lineCount = 0

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
