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
    /// Recomputes the hash chain of every snapshot read whole, from the chain start its manifest records to the
    /// chain head it records, without reading the snapshots before it (``verifyChain`` reads from the first).
    /// A read of the live API uses this: what it delivers from a whole snapshot is proven by that snapshot's
    /// chain; a snapshot read in part (a ``selector`` left files out) is checked by each object's MD5 only.
    public var verifySnapshotChains = false

    public init(archive: Archive, verifyChain: Bool = false, prefetch: Int = 3) {
        self.archive = archive
        self.verifyChain = verifyChain
        self.prefetch = max(1, prefetch)
    }

    /// A snapshot's data objects, read and verified, with the first chunk of each being decoded.
    struct LoadedSnapshot: Sendable {
        var cut: CutPoint
        var pipelines: [ChunkPipeline]
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
            stats.files += loaded.pipelines.count
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

    /// Reads and checks a snapshot's objects (in parallel) and starts decoding the first chunk of each.
    /// - Parameter spanBytes: content bytes of the frames decoded as one chunk (``ObjectFeed/nextSpan()``).
    static func load(
        _ cut: CutPoint, archive: Archive, only: [Int]? = nil, spanBytes: Int = ObjectFeed.chunkBytes
    ) async throws -> LoadedSnapshot {
        let indices = only ?? Array(cut.manifest.files.indices)
        let manifest = cut.manifest
        let dataset = try archive.dataset(of: cut)
        var feeds: [ObjectFeed?] = Array(repeating: nil, count: indices.count)
        if indices.count == 1 {
            feeds[0] = try await ObjectFeed.open(
                manifest.files[indices[0]], manifest: manifest, dataset: dataset, spanBytes: spanBytes)
        } else {
            try await withThrowingTaskGroup(of: (Int, ObjectFeed).self) { group in
                for (slot, index) in indices.enumerated() {
                    group.addTask {
                        let ref = manifest.files[index]
                        return (
                            slot,
                            try await ObjectFeed.open(ref, manifest: manifest, dataset: dataset, spanBytes: spanBytes)
                        )
                    }
                }
                for try await (slot, feed) in group {
                    feeds[slot] = feed
                }
            }
        }
        let pipelines = feeds.map { ChunkPipeline(feed: $0!) }
        for pipeline in pipelines { pipeline.schedule(depth: 1) }
        let stored = indices.reduce(Int64(0)) { $0 + manifest.files[$1].sizeBytes }
        return LoadedSnapshot(cut: cut, pipelines: pipelines, storedBytes: stored, partial: only != nil)
    }

    /// Delivers one snapshot's records, merging its partition files by position; returns its chain head.
    func deliver(
        _ loaded: LoadedSnapshot, plan: ReadPlan, after: Int64, chainStart: ChainHash?, stats: inout ReadStats,
        _ body: (UnsafeRawBufferPointer, RecordFields) throws -> Void
    ) async throws -> ChainHash? {
        try await deliver(loaded, plan: plan, after: after, chainStart: chainStart, stats: &stats) { line, fields, _ in
            try body(line, fields)
        }
    }

    /// ``deliver(_:plan:after:chainStart:stats:_:)`` that also tells `body` where each line sits.
    func deliver(
        _ loaded: LoadedSnapshot, plan: ReadPlan, after: Int64, chainStart: ChainHash?, stats: inout ReadStats,
        sited body: (UnsafeRawBufferPointer, RecordFields, LineSite) throws -> Void
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
        let hashing = verifyChain || (verifySnapshotChains && !loaded.partial)
        let hashed = facts.format == .v1
        // Frame digests repeat the MD5 check of the whole object: only the audit (`verifyChain`) recomputes them.
        let worker =
            hashing
            ? ChainWorker(
                chainStart: chainStart ?? facts.chainStart, hashed: hashed,
                buildsTree: facts.recordsRoot != nil, paths: loaded.pipelines.map(\.path),
                fileChains: FileChainCheck(loaded.cut, partial: loaded.partial),
                frameIndex: FrameIndexCheck(loaded, digests: verifyChain),
                threaded: facts.eventCount >= ChainWorker.threadedFrom) : nil
        var count: Int64 = 0
        var lastPosition: Int64 = .min
        var firstPosition: Int64 = .min
        var recordBytes: Int64 = 0
        var delivered: Int64 = 0
        do {
            try await ChunkMerger.forEachSitedLine(loaded.pipelines) { line, fields, site in
                let lineNumber = site.lineNumber
                var path: String { loaded.pipelines[site.file].path }
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
                guard fields.hasHash == hashed else {
                    throw ArchiveFormatError(
                        .chainMismatch,
                        "\(path) line \(lineNumber): a format \(fields.format) record in a format \(facts.format) "
                            + "snapshot: a snapshot never mixes formats, so the record was altered or inserted")
                }
                try worker?.add(line, fields, file: site.file, lineNumber: lineNumber)
                if fields.position <= after { return }
                if let max = plan.maxPosition, fields.position > max { return }
                if let max = plan.maxRecordedAt, fields.recordedAtNanos > max { return }
                delivered += 1
                try body(line, fields, site)
            }
        } catch {
            // A broken chain at an earlier record is the first problem, as when the chain was computed inline.
            if let failure = worker?.stop() { throw failure }
            throw error
        }
        try worker?.finish()
        stats.recordBytes += recordBytes
        stats.events += delivered
        // A partial read skipped whole files (each MD5-checked when read): the snapshot's totals do not apply.
        if !loaded.partial {
            try Self.checkTotals(loaded.cut, count: count, first: firstPosition, last: lastPosition)
        }
        guard let progress = worker?.progress else { return facts.chainHead }
        try Self.checkChainEnd(loaded.cut, chain: progress.chain, tree: progress.tree)
        try progress.fileChains?.check()
        try progress.frameIndex?.check()
        return progress.chain
    }

    /// A whole snapshot read holds as many records as its manifest says, over the positions it says.
    private static func checkTotals(_ cut: CutPoint, count: Int64, first: Int64, last: Int64) throws {
        let facts = cut.facts
        guard count == facts.eventCount else {
            throw ArchiveFormatError(
                .chainMismatch,
                "snapshot \(cut.snapshotID) holds \(count) records, but its manifest says \(facts.eventCount): "
                    + "records were added or removed")
        }
        guard count == 0 || (first == facts.firstPosition && last == facts.lastPosition) else {
            throw ArchiveFormatError(
                .chainMismatch,
                "snapshot \(cut.snapshotID) holds positions \(first)...\(last), but its manifest says "
                    + " \(facts.firstPosition)...\(facts.lastPosition)")
        }
    }

    /// A hashed read ends the chain at the manifest's chain head, and its records hash to the manifest's records
    /// root (when it records one).
    private static func checkChainEnd(_ cut: CutPoint, chain: ChainHash, tree: RecordsTree.Accumulator) throws {
        let facts = cut.facts
        guard chain == facts.chainHead else {
            throw ArchiveFormatError(
                .chainMismatch,
                "snapshot \(cut.snapshotID) ends its hash chain at \(chain.hex.prefix(16))…, but its manifest "
                    + "records \(facts.chainHead.hex.prefix(16))…")
        }
        if let root = facts.recordsRoot, tree.root != root {
            throw ArchiveFormatError(
                .chainMismatch,
                "snapshot \(cut.snapshotID)'s records hash to the tree root \(tree.root.hex.prefix(16))…, but its "
                    + "manifest records \(root.hex.prefix(16))…: the manifest's records_root was altered")
        }
    }
}

/// Iterates the records of a snapshot's position-ordered objects as one position-ordered sequence.
///
/// The next chunks of each object are decompressed and decoded by tasks of their own (``ChunkPipeline``)
/// while the current one is delivered.
enum ChunkMerger {
    /// Chunks in flight per object: enough to keep the cores decoding while one object is delivered, few
    /// enough that a snapshot of many partition files stays within a few tens of MB.
    /// (Measured on 2 cores: 2, 3, 4 and 6 ahead replay equally fast; the fewer, the less memory.)
    static let depth = 2

    /// Where the reader is in one object: its current chunk, the line within it, and the lines before it.
    struct Cursor {
        let pipeline: ChunkPipeline
        var chunk: RecordChunk?
        var offset = 0
        var lineBase = 0
        /// The current chunk's number in the object (0 for the first).
        var ordinal = -1

        /// Moves to the next chunk with lines (nil after the last). A chunk that stopped at a malformed line
        /// throws here, after its good lines were delivered.
        mutating func nextChunk(depth: Int) async throws {
            if let chunk {
                try Self.check(chunk, pipeline.path, lineBase)
                lineBase += chunk.lineCount
            }
            while let next = try await pipeline.next(depth: depth) {
                ordinal += 1
                offset = 0
                chunk = next
                if !next.lines.isEmpty { return }
                try Self.check(next, pipeline.path, lineBase)
                lineBase += next.lineCount
            }
            chunk = nil
        }

        static func check(_ chunk: RecordChunk, _ path: String, _ lineBase: Int) throws {
            if let failure = chunk.failure {
                throw ArchiveFormatError(.badRecord, "\(path) line \(lineBase + failure.line): \(failure.message)")
            }
        }
    }

    /// Calls `body` with each line, its fields, its object's path and its line number in the object.
    static func forEachLine(
        _ pipelines: [ChunkPipeline],
        _ body: (UnsafeRawBufferPointer, RecordFields, String, Int) throws -> Void
    ) async throws {
        try await forEachSitedLine(pipelines) { line, fields, site in
            try body(line, fields, pipelines[site.file].path, site.lineNumber)
        }
    }

    /// Calls `body` with each line, its fields and where it sits.
    static func forEachSitedLine(
        _ pipelines: [ChunkPipeline],
        _ body: (UnsafeRawBufferPointer, RecordFields, LineSite) throws -> Void
    ) async throws {
        defer { pipelines.forEach { $0.cancel() } }
        let depth = Self.depth
        var cursors = pipelines.map { Cursor(pipeline: $0) }
        for i in cursors.indices { try await cursors[i].nextChunk(depth: depth) }
        if cursors.count == 1 {
            var cursor = cursors[0]
            while let chunk = cursor.chunk {
                for (index, line) in chunk.lines.enumerated() {
                    let site = LineSite(
                        file: 0, chunk: cursor.ordinal, start: line.start, lineNumber: cursor.lineBase + line.number)
                    try body(chunk.bytes(of: index), line.fields, site)
                }
                try await cursor.nextChunk(depth: depth)
            }
            return
        }
        // k-way merge: k (the partitions of one snapshot) is small, so a linear scan for the minimum is fine.
        while true {
            var best = -1
            var bestPosition = Int64.max
            for i in cursors.indices {
                if let chunk = cursors[i].chunk {
                    let position = chunk.lines[cursors[i].offset].fields.position
                    if best < 0 || position < bestPosition {
                        best = i
                        bestPosition = position
                    }
                }
            }
            if best < 0 { return }
            let chunk = cursors[best].chunk!
            let offset = cursors[best].offset
            let line = chunk.lines[offset]
            let site = LineSite(
                file: best, chunk: cursors[best].ordinal, start: line.start,
                lineNumber: cursors[best].lineBase + line.number)
            try body(chunk.bytes(of: offset), line.fields, site)
            cursors[best].offset += 1
            if cursors[best].offset == chunk.lines.count { try await cursors[best].nextChunk(depth: depth) }
        }
    }
}

/// Where a line delivered by ``ChunkMerger`` sits: its object (the index into the merged pipelines), the chunk of
/// that object, its byte offset in the chunk, and its line number in the object.
struct LineSite: Sendable {
    var file: Int
    var chunk: Int
    var start: Int
    var lineNumber: Int
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
