import ArchiveFormat
public import Coordination

/// Rebuilds a coordination store from the archive: every event up to a cut point with its original
/// position, stream version, id and time, and stream heads and the flush cursor to match, so the restored
/// store continues the same archive.
///
/// The archive is read with its hash chain verified. A problem stops the restore; snapshots before it are
/// already written, so the target must then be thrown away (the error says so).
public struct Restorer: Sendable {
    public let archive: Archive
    public let target: any CoordinationStore

    public init(archive: Archive, target: any CoordinationStore) {
        self.archive = archive
        self.target = target
    }

    public struct Summary: Sendable {
        public var events: Int64
        public var streams: Int
        public var lastPosition: Int64
        public var snapshotID: String
        public var seconds: Double
    }

    /// - Parameter allowNonEmpty: restore even if the target already holds events (their positions must not
    ///   collide).
    public func run(
        plan: ReadPlan, allowNonEmpty: Bool = false, progress: ((Int64, Double) -> Void)? = nil
    )
        async throws -> Summary
    {
        let started = ContinuousClock.now
        let status = try await target.status()
        guard allowNonEmpty || (status.eventCount == 0 && status.headPosition == 0) else {
            throw ArchiverError(
                .notEmpty,
                "the target store already holds \(status.eventCount) events (head position \(status.headPosition)); "
                    + "restore into an empty store, or pass --force to add to it")
        }
        guard plan.maxPosition == nil && plan.maxRecordedAt == nil else {
            throw ArchiverError(
                .invalidArgument,
                "restore needs a snapshot cut (a name, a snapshot id or latest), not a position or time, so the "
                    + "restored store's flush cursor matches a committed snapshot")
        }
        var batch: [RecordedEvent] = []
        var streams = Set<String>()
        var count: Int64 = 0
        let reader = ArchiveReader(archive: archive, verifyChain: true)
        let target = self.target
        // Records arrive synchronously; they are written in batches at each snapshot's end, so memory holds
        // at most one snapshot's events.
        _ = try await reader.read(
            plan,
            snapshotEnd: { _ in
                if !batch.isEmpty {
                    try await target.restoreEvents(batch)
                    batch.removeAll(keepingCapacity: true)
                    progress?(count, Flusher.seconds(since: started))
                }
            }
        ) { line, f in
            let event = RecordedEvent(
                position: f.position, stream: RecordDecoder.string(line, f.stream), version: f.version,
                id: RecordDecoder.string(line, f.id), type: RecordDecoder.string(line, f.type),
                data: String(decoding: UnsafeRawBufferPointer(rebasing: line[f.data]), as: UTF8.self),
                metadata: String(decoding: UnsafeRawBufferPointer(rebasing: line[f.metadata]), as: UTF8.self),
                recordedAtNanos: f.recordedAtNanos)
            streams.insert(event.stream)
            batch.append(event)
            count += 1
        }
        let head = plan.last!
        try await target.restoreFlushCursor(
            FlushCursor(
                position: head.facts.lastPosition, chainHead: head.facts.chainHead.hex, snapshotID: head.snapshotID,
                archivedCount: count))
        return Summary(
            events: count, streams: streams.count, lastPosition: head.facts.lastPosition, snapshotID: head.snapshotID,
            seconds: Flusher.seconds(since: started))
    }
}
