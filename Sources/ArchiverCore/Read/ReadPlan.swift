import ArchiveFormat
import Lode

/// The snapshots to read for a cut and the bounds to apply to their events.
///
/// A plan made from a catalog checkpoint does not hold its snapshots: it holds the checkpoint, how many of its
/// entries the cut covers and the snapshots after it. Readers go through the snapshots with ``CutStream``,
/// which decodes the checkpoint's parts one at a time as it reaches them, so planning costs the same whatever
/// the archive's age and a read holds a batch of cut points at a time. ``allCuts()`` lists them all, for the
/// callers that need every cut at once (verify, export, compaction, prune).
///
/// ```swift
/// let plan = try await archive.plan(to: .name("month-end"))
/// var cuts = plan.stream()
/// while let cut = try await cuts.next() { print(cut.snapshotID) }
/// ```
public struct ReadPlan: Sendable {
    /// Deliver only events at or below this position (a position cut), or nil.
    public var maxPosition: Int64?
    /// Deliver only events recorded at or before this time (a time cut), or nil.
    public var maxRecordedAt: Int64?
    public var selector: CutSelector
    /// How the snapshots were found (catalog checkpoint or chain walk) and any notes about it.
    public var planning = CutPointResolution.Info()
    /// The compacted generation whose runs are read in place of the original snapshots they cover (the plan
    /// stays the original snapshots: cut points, signatures and proofs refer to them).
    public var generation: ActiveGeneration? = nil
    /// The plan's last snapshot: the cut. nil only for a plan made from no snapshots.
    public private(set) var last: CutPoint?
    /// How many snapshots the plan covers: the chain from the first snapshot through ``last``.
    public private(set) var count: Int
    let source: Source

    enum Source: Sendable {
        /// Every snapshot, in memory (a chain walk, or a plan made from a list).
        case listed([CutPoint])
        /// Entries 1…`range.count` of a catalog checkpoint, then `tail` (read from the manifests when planning).
        case catalog(CheckpointRange, tail: [CutPoint])
    }

    /// A plan over `cuts` (oldest first).
    public init(cuts: [CutPoint], maxPosition: Int64?, maxRecordedAt: Int64?, selector: CutSelector) {
        self.maxPosition = maxPosition
        self.maxRecordedAt = maxRecordedAt
        self.selector = selector
        self.last = cuts.last
        self.count = cuts.count
        self.source = .listed(cuts)
    }

    /// A plan over the first `range.count` entries of a checkpoint and then `tail`, ending at `last`.
    init(
        range: CheckpointRange, tail: [CutPoint], last: CutPoint, maxPosition: Int64? = nil,
        maxRecordedAt: Int64? = nil, selector: CutSelector
    ) {
        self.maxPosition = maxPosition
        self.maxRecordedAt = maxRecordedAt
        self.selector = selector
        self.last = last
        self.count = Int(range.count) + tail.count
        self.source = .catalog(range, tail: tail)
    }

    /// Position of the last event the plan can deliver.
    public var lastPosition: Int64 {
        let last = last?.facts.lastPosition ?? 0
        return maxPosition.map { min($0, last) } ?? last
    }

    /// The plan's snapshots in chain order, oldest first, decoded as they are reached.
    /// - Parameter position: leave out whole checkpoint parts whose snapshots all end at or below this position
    ///   (a read that starts after an aggregate snapshot); the stream may still yield some such snapshots.
    public func stream(skippingThrough position: Int64? = nil) -> CutStream {
        CutStream(plan: self, skippingThrough: position)
    }

    /// Every snapshot of the plan, oldest first: the whole checkpoint range is decoded (a part at a time). For
    /// callers that need every cut at once; a replay reads ``stream(skippingThrough:)`` instead.
    public func allCuts() async throws -> [CutPoint] {
        try await allCutsWithNotes().cuts
    }

    /// ``allCuts()`` and the notes of the stream (a part that could not be used).
    func allCutsWithNotes() async throws -> (cuts: [CutPoint], notes: [String]) {
        switch source {
        case .listed(let cuts):
            return (cuts, [])
        case .catalog(let range, let tail):
            do {
                return (try await range.decodeAll() + tail, [])
            } catch is CancellationError {
                throw CancellationError()
            } catch {
                // The stream reads what it can of the checkpoint and the rest from the manifests, with a note.
            }
        }
        var stream = self.stream()
        defer { stream.cancel() }
        var cuts: [CutPoint] = []
        cuts.reserveCapacity(count)
        while let cut = try await stream.next() { cuts.append(cut) }
        return (cuts, await stream.notes)
    }

    /// Whether snapshot `id` is one of the plan's; reads at most the one checkpoint part that can hold it.
    public func contains(snapshotID id: String) async throws -> Bool {
        switch source {
        case .listed(let cuts):
            return cuts.contains { $0.snapshotID == id }
        case .catalog(let range, let tail):
            if tail.contains(where: { $0.snapshotID == id }) { return true }
            let candidates = range.parts.filter { $0.summary?.mayHold(snapshotID: id) ?? true }
            let found = try await range.catalog.find(
                in: candidates, of: range.checkpoint, through: range.count, last: false
            ) { $0.snapshotID == id }
            return found.found != nil
        }
    }
}

/// The first `count` entries of a catalog checkpoint: the part of a plan read from the catalog.
struct CheckpointRange: Sendable {
    var catalog: ArchiveCatalog
    var checkpoint: CatalogCheckpoint
    /// Every part of the checkpoint, in sequence order.
    var parts: [CatalogPart]
    var count: Int64
    /// The snapshot with sequence `count`, where the entries must end.
    var endSnapshotID: String

    /// Every entry of the range as cut points, the parts decoded in parallel (for callers that need them all at
    /// once), checked as ``CutStream`` checks them.
    /// - Throws: when a part cannot be read or the entries are inconsistent (the stream then falls back).
    func decodeAll() async throws -> [CutPoint] {
        let (catalog, checkpoint, count) = (catalog, checkpoint, count)
        let parts = parts.filter { $0.sequences.lowerBound <= count }
        var decoded = [[(sequence: Int64, cut: CutPoint)]](repeating: [], count: parts.count)
        try await withThrowingTaskGroup(of: (Int, [(sequence: Int64, cut: CutPoint)]).self) { group in
            var next = 0
            func add() {
                let index = next
                next += 1
                group.addTask {
                    var reader = try await CatalogPartReader.open(parts[index], of: checkpoint, catalog: catalog)
                    var out: [(sequence: Int64, cut: CutPoint)] = []
                    while true {
                        let entries = try reader.next(limit: ArchiveCatalog.batchEntries).filter {
                            $0.sequence <= count
                        }
                        if entries.isEmpty { break }
                        let cuts = try Archive.cutPoints(entries.map(\.manifest))
                        out += zip(entries.map(\.sequence), cuts).map { (sequence: $0, cut: $1) }
                    }
                    return (index, out)
                }
            }
            while next < min(parts.count, 4) { add() }
            while let (index, cuts) = try await group.next() {
                decoded[index] = cuts
                if next < parts.count { add() }
            }
        }
        var cuts: [CutPoint] = []
        cuts.reserveCapacity(Int(count))
        for entry in decoded.joined() {
            guard entry.sequence == Int64(cuts.count) + 1, entry.cut.manifest.parent == cuts.last?.snapshotID else {
                throw ArchiverError(
                    .unreadable,
                    "catalog checkpoint \(checkpoint.snapshotID) is inconsistent at sequence \(cuts.count + 1)")
            }
            cuts.append(entry.cut)
        }
        guard cuts.count == count, cuts.last?.snapshotID == endSnapshotID else {
            throw ArchiverError(
                .unreadable, "catalog checkpoint \(checkpoint.snapshotID) does not end at snapshot \(endSnapshotID)")
        }
        return cuts
    }
}

/// The snapshots of a ``ReadPlan`` in chain order, a batch at a time: checkpoint entries are decoded part by
/// part as the stream reaches them (the next batch while the current one is consumed), then the snapshots
/// after the checkpoint follow.
///
/// Each entry is checked as it comes: its sequence follows the previous one and it names the previous
/// snapshot as its parent; the last must be the plan's. A part that is missing, damaged or inconsistent is
/// replaced by the manifests it should have listed (walking parent links back from the range's end), with a
/// note, so a damaged checkpoint never fails a read.
public struct CutStream: Sendable {
    private let cursor: CutCursor
    private var batch: [CutPoint] = []
    private var index = 0
    private var upcoming: Task<[CutPoint], any Error>?

    init(plan: ReadPlan, skippingThrough position: Int64?) {
        let cursor = CutCursor(source: plan.source, skippingThrough: position)
        self.cursor = cursor
        self.upcoming = Task { try await cursor.nextBatch() }
    }

    /// The next snapshot, or nil after the last.
    /// - Throws: Lode and ``ArchiverError`` errors when neither the checkpoint nor the manifests can be read.
    public mutating func next() async throws -> CutPoint? {
        while index == batch.count {
            guard let task = upcoming else { return nil }
            let next = try await task.value
            guard !next.isEmpty else {
                upcoming = nil
                return nil
            }
            batch = next
            index = 0
            upcoming = Task { [cursor] in try await cursor.nextBatch() }
        }
        defer { index += 1 }
        return batch[index]
    }

    /// Why parts of the checkpoint were not used (read from the manifests instead), so far.
    public var notes: [String] {
        get async { await cursor.notes }
    }

    /// Checkpoint parts the stream has decoded so far.
    public var partsRead: Int {
        get async { await cursor.partsRead }
    }

    /// Stops decoding ahead.
    public func cancel() {
        upcoming?.cancel()
    }
}

/// Produces a plan's snapshots a batch at a time (see ``CutStream``).
actor CutCursor {
    private var range: CheckpointRange?
    private var tail: [CutPoint]
    private let skipThrough: Int64?
    private var partIndex = 0
    private var reader: CatalogPartReader?
    /// The last checkpoint entry passed (delivered or skipped with its part): its sequence and snapshot id.
    private var sequence: Int64 = 0
    private var lastID: String?
    private(set) var notes: [String] = []
    private(set) var partsRead = 0

    init(source: ReadPlan.Source, skippingThrough position: Int64?) {
        switch source {
        case .listed(let cuts):
            range = nil
            tail = cuts
        case .catalog(let range, let tail):
            self.range = range.count > 0 ? range : nil
            self.tail = tail
        }
        skipThrough = position
    }

    /// The next snapshots in order; empty after the last.
    func nextBatch() async throws -> [CutPoint] {
        try Task.checkCancellation()
        if let range {
            do {
                if let batch = try await nextFromCheckpoint(range) { return batch }
            } catch {
                try Task.checkCancellation()
                return try await fallBack(range, because: error)
            }
        }
        let batch = tail
        tail = []
        return batch
    }

    /// The next entries of the range as cut points, or nil once it is exhausted (then `range` is nil).
    private func nextFromCheckpoint(_ range: CheckpointRange) async throws -> [CutPoint]? {
        while sequence < range.count {
            if reader == nil {
                let part = range.parts[partIndex]
                if let skipThrough, let summary = part.summary, summary.lastPosition <= skipThrough,
                    part.sequences.upperBound <= range.count
                {
                    // Every snapshot of the part ends at or below the position: pass it by its summary.
                    sequence = part.sequences.upperBound
                    lastID = summary.lastSnapshotID
                    partIndex += 1
                    continue
                }
                reader = try await CatalogPartReader.open(part, of: range.checkpoint, catalog: range.catalog)
                partsRead += 1
            }
            let limit = Int(min(Int64(ArchiveCatalog.batchEntries), range.count - sequence))
            let entries = try reader!.next(limit: limit)
            if entries.isEmpty {
                let part = range.parts[partIndex]
                guard sequence == part.sequences.upperBound else {
                    throw ArchiverError(
                        .unreadable,
                        "catalog part \(part.ref.path) ends at sequence \(sequence), but its name says "
                            + "\(part.sequences.upperBound)")
                }
                reader = nil
                partIndex += 1
                continue
            }
            // Checked as a whole before any is delivered, so a fallback starts right after the last delivered.
            var checkedSequence = sequence
            var checkedID = lastID
            for entry in entries {
                guard entry.sequence == checkedSequence + 1, entry.manifest.parent == checkedID,
                    entry.sequence <= range.parts[partIndex].sequences.upperBound
                else {
                    throw ArchiverError(
                        .unreadable,
                        "catalog checkpoint \(range.checkpoint.snapshotID) is inconsistent at sequence "
                            + "\(checkedSequence + 1) (snapshot \(entry.manifest.snapshotID)): entries are missing, "
                            + "duplicated or out of chain order")
                }
                checkedSequence = entry.sequence
                checkedID = entry.manifest.snapshotID
            }
            if checkedSequence == range.count, checkedID != range.endSnapshotID {
                throw ArchiverError(
                    .unreadable,
                    "catalog checkpoint \(range.checkpoint.snapshotID) lists snapshot \(checkedID ?? "-") as number "
                        + "\(checkedSequence), but the plan ends at \(range.endSnapshotID)")
            }
            let cuts = try Archive.cutPoints(entries.map(\.manifest))
            sequence = checkedSequence
            lastID = checkedID
            if sequence == range.count {
                reader = nil
                self.range = nil
            }
            return cuts
        }
        self.range = nil
        return nil
    }

    /// The rest of the range from the manifests: parent links from the range's last snapshot back to the last
    /// entry passed.
    private func fallBack(_ range: CheckpointRange, because error: any Error) async throws -> [CutPoint] {
        reader = nil
        self.range = nil
        let events = range.catalog.archive.events
        var chain = [try await events.manifest(range.endSnapshotID)]
        while chain.last!.parent != lastID {
            guard let parent = chain.last!.parent, Int64(chain.count) < range.count - sequence else {
                throw ArchiverError(
                    .unreadable,
                    "the catalog checkpoint \(range.checkpoint.snapshotID) cannot be used from sequence "
                        + "\(sequence + 1) on, and snapshot \(range.endSnapshotID) is not number \(range.count) "
                        + "of the chain after snapshot \(lastID ?? "(none)"); run `archiver catalog rebuild`")
            }
            chain.append(try await events.manifest(parent))
        }
        guard Int64(chain.count) == range.count - sequence else {
            throw ArchiverError(
                .unreadable,
                "the catalog checkpoint \(range.checkpoint.snapshotID) numbers snapshot \(range.endSnapshotID) "
                    + "\(range.count), but it is \(Int64(chain.count) + sequence) of its chain; run `archiver "
                    + "catalog rebuild`")
        }
        let reason = (error as? ArchiverError)?.message ?? (error as? LodeError)?.message ?? "\(error)"
        notes.append(
            "the catalog checkpoint is not usable from sequence \(sequence + 1) on (\(reason)); read the "
                + "\(chain.count) snapshots from their manifests instead (`archiver catalog rebuild` writes a fresh "
                + "one)")
        return try Archive.cutPoints(chain.reversed())
    }
}
