import ArchiveFormat
import Coordination
import Lode

extension Flusher {
    /// Checks made once per pass before anything is written: the cut name, the archive's settings, and that the
    /// store and the archive belong together. Returns notes for the summary and the record format to write: the
    /// head manifest's (an archive keeps its format), or the configured one for a new archive.
    func preflight(pending: FlushIntent?) async throws -> (notes: [String], format: RecordFormat) {
        if let name = options.cutName { try CutName.validate(name) }
        let resolution = try await archive.events.resolveHead()
        try archive.checkSettingsMatchArchive(resolution.head)
        let notes = try await preflightNotes(resolution, pending: pending)
        guard let head = resolution.head else { return (notes, archive.settings.recordFormat) }
        return (notes, try await writeFormat(head: try ArchiveMetadata(entries: head.stringMetadata).format))
    }

    /// New snapshots continue the head's record format, or the active generation's when that is later: after
    /// `archiver format upgrade`, the archive's history reads in the new format and new snapshots join it.
    private func writeFormat(head: RecordFormat) async throws -> RecordFormat {
        guard head < RecordFormat.allCases.max()! else { return head }
        return max(head, try await archive.activeGeneration()?.format ?? head)
    }

    private func preflightNotes(_ resolution: HeadResolution, pending: FlushIntent?) async throws -> [String] {
        try await checkBelongsTogether(cursor: try await store.flushCursor(), head: resolution.head, pending: pending)
        if let name = options.cutName {
            try CutName.checkUnused(name, in: try await archive.resolveCutPoints().cuts, allowing: pending?.snapshotID)
        }
        guard let behind = resolution.pointerBehindDescription, let head = resolution.head else { return [] }
        return [
            "\(behind): this flush commits after \(head.snapshotID) and moves the pointer; until a commit does, "
                + "`archiver verify` reports it (`archiver verify --repair` fixes it)"
        ]
    }

    /// The store's flush cursor must name the archive's head (or, after a crash, a pending intent must): a store
    /// pointed at another archive would otherwise report "up to date" or fork the history.
    func checkBelongsTogether(cursor: FlushCursor, head: Manifest?, pending: FlushIntent?) async throws {
        let headID = head?.snapshotID ?? ""
        guard cursor.snapshotID != headID, pending == nil || pending?.snapshotID != headID else { return }
        let fix =
            "point --archive at the archive this store flushes to and --store at its store (`archiver restore "
            + "--into` fills a new store from an archive)"
        let storeFact =
            cursor.snapshotID.isEmpty
            ? "the coordination store has never flushed (its flush cursor names no snapshot)"
            : "the coordination store's flush cursor names snapshot \(cursor.snapshotID) (through position "
                + "\(cursor.position))"
        let archiveFact: String
        if head == nil {
            archiveFact = "this archive is empty"
        } else if !cursor.snapshotID.isEmpty, (try? await archive.events.manifest(cursor.snapshotID)) == nil {
            archiveFact = "this archive does not hold that snapshot (its head is \(headID))"
        } else {
            archiveFact =
                "this archive's head is snapshot \(headID), past the cursor (another store flushes into it, "
                + "or the store was restored from an older backup)"
        }
        throw ArchiverError(
            .invalidArgument,
            "\(storeFact), but \(archiveFact): the store and the archive do not belong together; \(fix)")
    }
}
