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
    private var writers: [String: (partition: [(key: String, value: String)], writer: SegmentFileWriter)] = [:]
    /// The distinct streams of each partition file, for its ``StreamFilter``.
    private var streams: [String: Set<String>] = [:]
    /// Partition order of first appearance, so the files list is deterministic.
    private var order: [String] = []
    private var line: [UInt8] = []
    /// The records tree over the chain hashes, for `archiver.records_root`.
    private var tree = RecordsTree.Accumulator()
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
        let key = partitionKey(for: event)
        return writers[key] == nil && writers.count >= archive.settings.maxPartitionsPerSnapshot
    }

    /// Adds `event`, whose record body (``RecordEncoder/appendBody``) is `body`: seals it onto the chain and
    /// writes it to its partition's file.
    mutating func add(_ event: RecordedEvent, body: UnsafeRawBufferPointer) throws {
        let key = partitionKey(for: event)
        if writers[key] == nil {
            let values = archive.settings.partitioning.values(
                stream: event.stream, recordedAtNanos: event.recordedAtNanos)
            let partition = zip(archive.settings.partitioning.keys, values).map { (key: $0, value: $1) }
            writers[key] = (partition, try archive.makeSegmentWriter(spoolDirectory: spoolDirectory))
            order.append(key)
        }
        line.removeAll(keepingCapacity: true)
        line.append(contentsOf: body)
        encoder.seal(&line, bodyStart: 0)
        tree.append(chainHash: encoder.chain)
        let writer = writers[key]!.writer
        try line.withUnsafeBytes { try writer.append(line: $0) }
        streams[key, default: []].insert(event.stream)
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
        var files: [Flusher.StagedPartitionFile] = []
        for key in order {
            let entry = writers[key]!
            files.append(
                Flusher.StagedPartitionFile(
                    partition: entry.partition, staged: try entry.writer.finish(),
                    streamFilter: StreamFilter(streams: streams[key] ?? [])))
        }
        writers.removeAll()
        streams.removeAll()
        return Flusher.StagedSnapshot(
            intent: intent, files: files, recordsRoot: tree.root, minRecordedAt: minRecordedAt,
            maxRecordedAt: maxRecordedAt,
            bytesIn: bytesIn)
    }

    /// Removes staged files after a failure.
    mutating func discard() {
        for (_, entry) in writers { entry.writer.discard() }
        writers.removeAll()
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
