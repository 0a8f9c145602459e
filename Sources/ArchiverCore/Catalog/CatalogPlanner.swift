import ArchiveFormat
import Lode

/// Finds a cut through the newest catalog checkpoint: the checkpoint's manifest, the events manifests after it
/// (the tail) and, for a selector inside the checkpoint, the one part that holds the cut (by part summaries).
struct CatalogPlanner {
    let archive: Archive
    let selector: CutSelector
    let catalog: ArchiveCatalog
    let checkpoint: CatalogCheckpoint
    let parts: [CatalogPart]
    /// The cut points after the checkpoint, oldest first.
    let tail: [CutPoint]
    let headCut: CutPoint
    var info = CutPointResolution.Info()

    /// Nil when the archive has no snapshot or no catalog checkpoint.
    init?(archive: Archive, selector: CutSelector, head: Manifest?) async throws {
        let catalog = try ArchiveCatalog(archive: archive)
        guard let head, let checkpoint = try await catalog.latest() else { return nil }
        self.archive = archive
        self.selector = selector
        self.catalog = catalog
        self.checkpoint = checkpoint
        tail = try Archive.cutPoints(try await Self.manifests(of: archive, after: checkpoint, head: head))
        parts = try catalog.parts(of: checkpoint)
        headCut = try tail.last ?? Archive.cutPoints([head])[0]
        info.checkpoint = checkpoint.snapshotID
        info.manifestsRead = tail.count
        if checkpoint.format == ArchiveCatalog.formatVersion1 {
            info.notes.append(
                "catalog checkpoint \(checkpoint.snapshotID) is of format 1 (no part summaries): finding a cut may "
                    + "read every part; the next checkpoint the flusher writes, or `archiver catalog rebuild`, "
                    + "upgrades it")
        }
    }

    /// The manifests after the checkpoint, oldest first: parent links from the head back to its last snapshot.
    private static func manifests(
        of archive: Archive, after checkpoint: CatalogCheckpoint, head: Manifest
    ) async throws -> [Manifest] {
        guard head.snapshotID != checkpoint.throughSnapshotID else { return [] }
        var after = [head]
        var current = head
        while let parent = current.parent, parent != checkpoint.throughSnapshotID {
            current = try await archive.events.manifest(parent)
            after.append(current)
        }
        guard current.parent == checkpoint.throughSnapshotID else {
            throw ArchiverError(
                .unreadable,
                "checkpoint \(checkpoint.snapshotID) ends at snapshot \(checkpoint.throughSnapshotID), which is "
                    + "not on the chain of the head \(head.snapshotID)")
        }
        return after.reversed()
    }

    /// The plan for the selector; throws `.unknownCut` when it names nothing.
    func plan() async throws -> ReadPlan {
        let through = checkpoint.throughSequence
        switch selector {
        case .latest:
            return planned(tail: tail, last: headCut, count: through, end: checkpoint.throughSnapshotID)
        case .name(let name):
            if let index = tail.lastIndex(where: { $0.name == name }) { return inTail(index) }
            let candidates = parts.reversed().filter { $0.summary?.names.contains(name) ?? true }
            if let plan = try await inCheckpoint(candidates, last: true, where: { $0.name == name }) { return plan }
        case .snapshot(let id):
            if let index = tail.firstIndex(where: { $0.snapshotID == id }) { return inTail(index) }
            let candidates = parts.filter { $0.summary?.mayHold(snapshotID: id) ?? true }
            if let plan = try await inCheckpoint(candidates, last: false, where: { $0.snapshotID == id }) {
                return plan
            }
        case .position(let position):
            return try await plan(toPosition: position)
        case .time(let nanos):
            // Record times follow commit order only roughly (clocks, concurrent transactions), so every
            // snapshot that starts at or before the time may hold qualifying events.
            if let index = tail.lastIndex(where: { $0.facts.minRecordedAtNanos <= nanos }) {
                return inTail(index, maxRecordedAt: nanos)
            }
            let candidates = parts.reversed().filter { $0.summary.map { $0.minRecordedAtNanos <= nanos } ?? true }
            let found = try await inCheckpoint(
                candidates, last: true, maxRecordedAt: nanos, where: { $0.facts.minRecordedAtNanos <= nanos })
            if let found { return found }
        }
        throw try await unknownCut()
    }

    private func plan(toPosition position: Int64) async throws -> ReadPlan {
        guard position <= headCut.facts.lastPosition else {
            throw archive.notArchivedYet(position, head: headCut)
        }
        if position > checkpoint.lastPosition, !tail.isEmpty {
            let index = tail.firstIndex(where: { $0.facts.lastPosition >= position }) ?? tail.count - 1
            return inTail(index, maxPosition: position)
        }
        let candidates = parts.filter { $0.summary.map { $0.lastPosition >= position } ?? true }
        let found = try await inCheckpoint(
            candidates, last: false, maxPosition: position, where: { $0.facts.lastPosition >= position })
        guard let found else {
            throw ArchiverError(
                .unreadable,
                "no entry of catalog checkpoint \(checkpoint.snapshotID) reaches position \(position), though "
                    + "it ends at position \(checkpoint.lastPosition)")
        }
        return found
    }

    /// The plan through the whole checkpoint and `tail[...index]`.
    private func inTail(_ index: Int, maxPosition: Int64? = nil, maxRecordedAt: Int64? = nil) -> ReadPlan {
        planned(
            tail: Array(tail[...index]), last: tail[index], count: checkpoint.throughSequence,
            end: checkpoint.throughSnapshotID, maxPosition: maxPosition, maxRecordedAt: maxRecordedAt)
    }

    /// The plan through the checkpoint entry that `match` finds in `candidates` (reading those parts in order),
    /// nil when none matches.
    private func inCheckpoint(
        _ candidates: [CatalogPart], last: Bool, maxPosition: Int64? = nil, maxRecordedAt: Int64? = nil,
        where match: (CutPoint) -> Bool
    ) async throws -> ReadPlan? {
        let (found, read) = try await catalog.find(
            in: candidates, of: checkpoint, through: checkpoint.throughSequence, last: last, where: match)
        guard let found else { return nil }
        return planned(
            tail: [], last: found.cut, count: found.sequence, end: found.cut.snapshotID, partsRead: read,
            maxPosition: maxPosition, maxRecordedAt: maxRecordedAt)
    }

    /// A plan over the checkpoint's first `count` entries (ending at snapshot `end`) and then `tail`.
    private func planned(
        tail: [CutPoint], last: CutPoint, count: Int64, end: String, partsRead: Int = 0, maxPosition: Int64? = nil,
        maxRecordedAt: Int64? = nil
    ) -> ReadPlan {
        let range = CheckpointRange(
            catalog: catalog, checkpoint: checkpoint, parts: parts, count: count, endSnapshotID: end)
        var plan = ReadPlan(
            range: range, tail: tail, last: last, maxPosition: maxPosition, maxRecordedAt: maxRecordedAt,
            selector: selector)
        var info = self.info
        info.fromCheckpoint = Int(count)
        info.partsRead = partsRead
        plan.planning = info
        return plan
    }

    /// The error for a selector that matched nothing: the hints come from the summaries (or, lacking them,
    /// from every entry).
    private func unknownCut() async throws -> ArchiverError {
        if parts.allSatisfy({ $0.summary != nil }) {
            let summaries = parts.compactMap(\.summary)
            let names = summaries.flatMap(\.names) + tail.compactMap(\.name)
            let earliest = (summaries.map(\.minRecordedAtNanos) + tail.map(\.facts.minRecordedAtNanos)).min() ?? 0
            return archive.unknownCut(selector, names: names, latest: headCut.snapshotID, earliestRecordedAt: earliest)
        }
        let entries = try await catalog.entries(of: checkpoint)
        let all = try Archive.cutPoints(entries.map(\.manifest)) + tail
        return archive.unknownCut(
            selector, names: all.compactMap(\.name), latest: headCut.snapshotID,
            earliestRecordedAt: all.map(\.facts.minRecordedAtNanos).min() ?? 0)
    }
}
