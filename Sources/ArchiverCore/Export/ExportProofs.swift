import ArchiveFormat

/// The proofs file of an export, written an original snapshot at a time: every record's leaf of the snapshot, and
/// for the selected records their index and the chain hash before them.
///
/// Each proof is against the records root of an original snapshot, whichever layout the records are read from: the
/// records of `relevant[current]` are those in its position range (a compacted generation's snapshot holds several
/// originals, and may hold records of originals that are not relevant).
struct ExportProofs {
    let relevant: [CutPoint]
    let file: OutputFile
    /// Every record's leaf of the current original.
    var leaves: [ChainHash] = []
    var selected: [(index: Int, position: Int64, previous: ChainHash)] = []
    /// The index in `relevant` of the original whose records are being read.
    var current = 0
    /// The originals that had a selected record, in order.
    var snapshotsWithEvents: [String] = []

    init(relevant: [CutPoint], file: OutputFile) {
        self.relevant = relevant
        self.file = file
    }

    /// Whether a record at `position` belongs to an original still to be read; finishes the originals it is past.
    mutating func advance(to position: Int64) throws -> Bool {
        while current < relevant.count && position > relevant[current].facts.lastPosition { try finishOriginal() }
        return current < relevant.count && position >= relevant[current].facts.firstPosition
    }

    /// Finishes the originals not finished yet.
    mutating func finish() throws {
        while current < relevant.count { try finishOriginal() }
    }

    /// Writes the proofs of the current original's selected records and moves to the next original.
    private mutating func finishOriginal() throws {
        let cut = relevant[current]
        defer {
            leaves.removeAll(keepingCapacity: true)
            selected.removeAll(keepingCapacity: true)
            current += 1
        }
        guard !selected.isEmpty else { return }
        // The reader has checked the records against the root.
        guard cut.facts.recordsRoot != nil else {
            throw ArchiverError(
                .unreadable,
                "snapshot \(cut.snapshotID) was written before records roots existed, so its events "
                    + "cannot be proven one by one; export a selection after position \(cut.facts.lastPosition)"
            )
        }
        guard leaves.count == cut.facts.eventCount else {
            throw ArchiverError(
                .tampered,
                "snapshot \(cut.snapshotID) holds \(cut.facts.eventCount) events, but \(leaves.count) were read")
        }
        let paths = RecordsTree.auditPaths(indexes: selected.map(\.index), leaves: leaves)
        var text = ""
        for s in selected {
            text +=
                ExportBundle.Proof(
                    position: s.position, snapshotID: cut.snapshotID, index: s.index, size: leaves.count,
                    previous: s.previous, path: paths[s.index]!
                ).line + "\n"
        }
        try file.write(Array(text.utf8))
        snapshotsWithEvents.append(cut.snapshotID)
    }
}
