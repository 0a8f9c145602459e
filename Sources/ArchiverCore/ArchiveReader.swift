public import ArchiveFormat
import Foundation
import Lode

/// What a read of the archive covered.
public struct ReadStats: Sendable {
    public var snapshots = 0
    public var files = 0
    public var events: Int64 = 0
    /// Snapshots and data files a ``FileSelector`` ruled out without reading them.
    public var skippedSnapshots = 0
    public var skippedFiles = 0
    public var storedBytes: Int64 = 0
    public var recordBytes: Int64 = 0
    /// Chain head after the last event read (when the chain was checked).
    public var chainHead: ChainHash?
    /// Why parts of the catalog checkpoint were read from the manifests instead (see ``CutStream``).
    public var notes: [String] = []
}

/// Reads archived records in global position order, snapshot by snapshot.
///
/// Every object is checked against the size and MD5 its manifest records before any of its records is
/// delivered. With `verifyChain`, every record's hash is recomputed and linked across snapshots.
/// The next `prefetch` snapshots (at most `prefetchBytes` stored bytes of them, but always the next one) are
/// fetched and verified in parallel while the current one is delivered, and each object is decompressed and
/// decoded a chunk (2 MiB) at a time by tasks of its own, ahead of the records being delivered: memory stays at
/// a few snapshots' stored bytes plus two chunks per object, whatever the archive's size, and decoding runs on
/// other cores than the projection.
///
/// The plan's snapshots come from its ``CutStream`` as the read goes: a cut planned from a catalog checkpoint
/// is decoded a part at a time, a batch ahead of the snapshots being fetched, so the read starts without the
/// list of every snapshot and never holds it. With an active compacted generation (``ReadPlan/generation``),
/// its snapshots are read in place of the original snapshots they cover.
public struct ArchiveReader: Sendable {
    public let archive: Archive
    public var verifyChain: Bool
    public var prefetch: Int
    /// Stored bytes the prefetched snapshots may hold together (the next snapshot is always fetched).
    public var prefetchBytes: Int64 = 48 << 20
    /// Reads only the data files that can hold what it selects (ignored with `verifyChain`, which needs every
    /// record).
    public var selector: FileSelector?

    public init(archive: Archive, verifyChain: Bool = false, prefetch: Int = 3) {
        self.archive = archive
        self.verifyChain = verifyChain
        self.prefetch = max(1, prefetch)
    }

    /// A snapshot's data objects, read and verified, with the first chunk of each decoded.
    struct LoadedSnapshot: Sendable {
        var cut: CutPoint
        var feeds: [ObjectFeed]
        var firstChunks: [RecordChunk?]
        var storedBytes: Int64
        /// True when a ``FileSelector`` left some files out: counts and position bounds cannot be checked.
        var partial = false
    }

    /// Calls `body` for each record of `plan` with a position above `after`, in position order.
    /// - Parameter body: receives the line (without newline) and its decoded fields; the buffer is valid only
    ///   during the call.
    /// - Throws: Lode errors for missing or altered objects, ``ArchiveFormatError`` for malformed records or a
    ///   broken hash chain (naming the object, line and position), and whatever `body` throws.
    /// - Parameter snapshotEnd: called after the last record of each snapshot (e.g. to write a batch).
    public func read(
        _ plan: ReadPlan, after: Int64 = 0,
        snapshotEnd: (CutPoint) async throws -> Void = { _ in },
        _ body: (UnsafeRawBufferPointer, RecordFields) throws -> Void
    ) async throws -> ReadStats {
        var stats = ReadStats()
        let selective = selector != nil && !verifyChain
        // The plan's snapshots arrive a batch at a time (catalog parts are decoded as the read reaches them).
        var queue = ReadQueue(plan: plan, after: after, verifyChain: verifyChain, selector: selective ? selector : nil)
        defer { queue.cancel() }
        var bounds = plan
        bounds.maxPosition = plan.readingMaxPosition
        var expectedChainStart: ChainHash? = nil
        var first = true
        var lastRead: CutPoint? = nil
        let archive = self.archive
        var pending: [(task: Task<LoadedSnapshot, any Error>, bytes: Int64)] = []
        defer { pending.forEach { $0.task.cancel() } }
        func schedule() async throws {
            var bytes = pending.reduce(0) { $0 + $1.bytes }
            while pending.count < prefetch, let unit = try await queue.peek() {
                guard pending.isEmpty || bytes + unit.size <= prefetchBytes else { break }
                queue.take()
                if first && verifyChain { expectedChainStart = try await chainStartBefore(unit.cut) }
                first = false
                bytes += unit.size
                pending.append((Task { try await Self.load(unit.cut, archive: archive, only: unit.only) }, unit.size))
            }
        }
        try await schedule()
        while !pending.isEmpty {
            let loaded = try await pending.removeFirst().task.value
            try await schedule()
            stats.snapshots += 1
            stats.files += loaded.feeds.count
            stats.storedBytes += loaded.storedBytes
            let head = try await deliver(
                loaded, plan: bounds, after: after, chainStart: expectedChainStart, stats: &stats, body)
            // Skipped snapshots leave gaps, so a selective read cannot link chain boundaries.
            expectedChainStart = selective ? nil : head
            lastRead = loaded.cut
            try await snapshotEnd(loaded.cut)
        }
        stats.skippedSnapshots = queue.skippedSnapshots
        stats.skippedFiles = queue.skippedFiles
        stats.notes = await queue.notes
        if verifyChain {
            // A generation snapshot read past the plan's last original snapshot proves that one's chain head too.
            let truncated = lastRead?.facts.lastPosition != plan.last?.facts.lastPosition
            stats.chainHead = truncated ? plan.last?.facts.chainHead : expectedChainStart
        }
        return stats
    }

    /// The chain hash the first snapshot must start from: genesis, or its parent's chain head.
    func chainStartBefore(_ cut: CutPoint) async throws -> ChainHash {
        guard let parentID = cut.manifest.parentSnapshotID else { return .genesis }
        let parent = try await archive.dataset(of: cut).manifest(parentID)
        return try ArchiveMetadata(entries: parent.stringMetadata).chainHead
    }

    /// Reads and checks a snapshot's objects (in parallel) and decodes the first chunk of each.
    static func load(_ cut: CutPoint, archive: Archive, only: [Int]? = nil) async throws -> LoadedSnapshot {
        let indices = only ?? Array(cut.manifest.files.indices)
        let manifest = cut.manifest
        let dataset = try archive.dataset(of: cut)
        var feeds: [ObjectFeed?] = Array(repeating: nil, count: indices.count)
        var firstChunks: [RecordChunk?] = Array(repeating: nil, count: indices.count)
        if indices.count == 1 {
            let feed = try await ObjectFeed.open(manifest.files[indices[0]], manifest: manifest, dataset: dataset)
            feeds[0] = feed
            firstChunks[0] = try feed.next()
        } else {
            try await withThrowingTaskGroup(of: (Int, ObjectFeed, RecordChunk?).self) { group in
                for (slot, index) in indices.enumerated() {
                    group.addTask {
                        let feed = try await ObjectFeed.open(
                            manifest.files[index], manifest: manifest, dataset: dataset)
                        return (slot, feed, try feed.next())
                    }
                }
                for try await (slot, feed, chunk) in group {
                    feeds[slot] = feed
                    firstChunks[slot] = chunk
                }
            }
        }
        let stored = indices.reduce(Int64(0)) { $0 + manifest.files[$1].sizeBytes }
        return LoadedSnapshot(
            cut: cut, feeds: feeds.map { $0! }, firstChunks: firstChunks, storedBytes: stored, partial: only != nil)
    }

    /// Delivers one snapshot's records, merging its partition files by position; returns its chain head.
    func deliver(
        _ loaded: LoadedSnapshot, plan: ReadPlan, after: Int64, chainStart: ChainHash?, stats: inout ReadStats,
        _ body: (UnsafeRawBufferPointer, RecordFields) throws -> Void
    ) async throws -> ChainHash? {
        let facts = loaded.cut.facts
        let snapshotID = loaded.cut.snapshotID
        if let chainStart, chainStart != facts.chainStart {
            throw ArchiveFormatError(
                .chainMismatch,
                "snapshot \(snapshotID) starts its hash chain from \(facts.chainStart.hex.prefix(16))…, but the "
                    + "previous snapshot ends at \(chainStart.hex.prefix(16))…: a snapshot was removed, replaced "
                    + "or reordered")
        }
        var chain = chainStart ?? facts.chainStart
        var tree = RecordsTree.Accumulator()
        var count: Int64 = 0
        var lastPosition: Int64 = .min
        var firstPosition: Int64 = .min
        var recordBytes: Int64 = 0
        var delivered: Int64 = 0
        try await ChunkMerger.forEachLine(loaded) { line, fields, path, lineNumber in
            guard fields.position > lastPosition else {
                throw ArchiveFormatError(
                    .chainMismatch,
                    "\(path) line \(lineNumber): position \(fields.position) is not above the previous record's "
                        + "\(lastPosition): records were reordered or duplicated")
            }
            if firstPosition == .min { firstPosition = fields.position }
            lastPosition = fields.position
            count += 1
            recordBytes += Int64(line.count + 1)
            if verifyChain {
                let expected = chain.next(body: UnsafeRawBufferPointer(rebasing: line[0..<fields.bodyEnd]))
                guard RecordDecoder.hashMatches(line, fields, expected) else {
                    throw ArchiveFormatError(
                        .chainMismatch,
                        "\(path) line \(lineNumber) (position \(fields.position)): the record's hash does not "
                            + "follow from the previous record: the record was altered, inserted, removed or moved")
                }
                chain = expected
                if facts.recordsRoot != nil { tree.append(chainHash: expected) }
            }
            if fields.position <= after { return }
            if let max = plan.maxPosition, fields.position > max { return }
            if let max = plan.maxRecordedAt, fields.recordedAtNanos > max { return }
            delivered += 1
            try body(line, fields)
        }
        stats.recordBytes += recordBytes
        stats.events += delivered
        // A partial read skipped whole files (each MD5-checked when read): the snapshot's totals do not apply.
        guard count == facts.eventCount || loaded.partial else {
            throw ArchiveFormatError(
                .chainMismatch,
                "snapshot \(snapshotID) holds \(count) records, but its manifest says \(facts.eventCount): "
                    + "records were added or removed")
        }
        guard
            count == 0 || loaded.partial
                || (firstPosition == facts.firstPosition && lastPosition == facts.lastPosition)
        else {
            throw ArchiveFormatError(
                .chainMismatch,
                "snapshot \(snapshotID) holds positions \(firstPosition)...\(lastPosition), but its manifest says "
                    + "\(facts.firstPosition)...\(facts.lastPosition)")
        }
        if verifyChain {
            guard chain == facts.chainHead else {
                throw ArchiveFormatError(
                    .chainMismatch,
                    "snapshot \(snapshotID) ends its hash chain at \(chain.hex.prefix(16))…, but its manifest "
                        + "records \(facts.chainHead.hex.prefix(16))…")
            }
            if let root = facts.recordsRoot, tree.root != root {
                throw ArchiveFormatError(
                    .chainMismatch,
                    "snapshot \(snapshotID)'s records hash to the tree root \(tree.root.hex.prefix(16))…, but its "
                        + "manifest records \(root.hex.prefix(16))…: the manifest's records_root was altered")
            }
            return chain
        }
        return facts.chainHead
    }
}

/// Iterates the records of a snapshot's position-ordered objects as one position-ordered sequence.
///
/// Each object's next chunk is decompressed and decoded by a task of its own while the current one is
/// delivered.
enum ChunkMerger {
    static func forEachLine(
        _ loaded: ArchiveReader.LoadedSnapshot,
        _ body: (UnsafeRawBufferPointer, RecordFields, String, Int) throws -> Void
    ) async throws {
        let feeds = loaded.feeds
        var chunks = loaded.firstChunks
        var upcoming: [Task<RecordChunk?, any Error>?] = feeds.indices.map { i in
            chunks[i] == nil ? nil : Task { [feed = feeds[i]] in try feed.next() }
        }
        defer { upcoming.forEach { $0?.cancel() } }
        var offsets = Array(repeating: 0, count: feeds.count)
        /// Moves feed `i` to its next chunk with lines; false when it has none left.
        func refill(_ i: Int) async throws -> Bool {
            while let pending = upcoming[i] {
                let chunk = try await pending.value
                chunks[i] = chunk
                offsets[i] = 0
                upcoming[i] = chunk == nil ? nil : Task { [feed = feeds[i]] in try feed.next() }
                if let chunk, !chunk.lines.isEmpty { return true }
            }
            chunks[i] = nil
            return false
        }
        for i in feeds.indices where chunks[i]?.lines.isEmpty ?? false {
            _ = try await refill(i)
        }
        if feeds.count == 1 {
            let path = feeds[0].path
            while let chunk = chunks[0] {
                for (index, line) in chunk.lines.enumerated() {
                    try body(chunk.bytes(of: index), line.fields, path, line.number)
                }
                if try await !refill(0) { break }
            }
            return
        }
        // k-way merge: k (the partitions of one snapshot) is small, so a linear scan for the minimum is fine.
        while true {
            var best = -1
            var bestPosition = Int64.max
            for i in feeds.indices {
                if let chunk = chunks[i] {
                    let position = chunk.lines[offsets[i]].fields.position
                    if best < 0 || position < bestPosition {
                        best = i
                        bestPosition = position
                    }
                }
            }
            if best < 0 { return }
            let chunk = chunks[best]!
            let line = chunk.lines[offsets[best]]
            try body(chunk.bytes(of: offsets[best]), line.fields, feeds[best].path, line.number)
            offsets[best] += 1
            if offsets[best] == chunk.lines.count { _ = try await refill(best) }
        }
    }
}

/// Splits a buffer into lines: `\n` separated, a trailing `\r` dropped, blank lines skipped, the last line
/// may lack its newline (Go Lode's reader does the same).
struct LineCursor {
    let buffer: UnsafeRawBufferPointer
    var offset = 0
    private(set) var lineNumber = 0

    init(buffer: UnsafeRawBufferPointer) {
        self.buffer = buffer
    }

    mutating func next() -> UnsafeRawBufferPointer? {
        while offset < buffer.count {
            let start = offset
            let remaining = UnsafeRawBufferPointer(rebasing: buffer[start...])
            let end: Int
            if let base = remaining.baseAddress, let hit = memchr(base, 0x0A, remaining.count) {
                end = start + (UnsafeRawPointer(hit) - base)
            } else {
                end = buffer.count
            }
            offset = end + 1
            lineNumber += 1
            var stop = end
            if stop > start && buffer[stop - 1] == 0x0D { stop -= 1 }
            if stop > start { return UnsafeRawBufferPointer(rebasing: buffer[start..<stop]) }
        }
        return nil
    }
}
