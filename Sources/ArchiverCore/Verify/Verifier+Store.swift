import ArchiveFormat
public import Coordination

extension Verifier {
    /// Cross-checks the coordination store's flush cursor with the archive's history: the cursor names the last
    /// snapshot the store saw committed, so a cursor past the archive's head, or naming a snapshot the archive does
    /// not hold, means committed snapshots are missing from this archive (deleted, hidden behind a rolled-back
    /// pointer) or the store belongs to another archive. A cursor that never flushed has nothing to compare.
    /// - Parameter storeName: how to name the store in messages (no password).
    public func check(cursor: FlushCursor, storeName: String, into report: inout VerificationReport) async throws {
        guard !cursor.snapshotID.isEmpty else { return }
        let cuts = try await archive.cutPoints()
        let head = cuts.last
        let headFact =
            head.map { "this archive's head is snapshot \($0.snapshotID) through position \($0.facts.lastPosition)" }
            ?? "this archive is empty"
        let location = "flush cursor of \(storeName)"
        if let cut = cuts.last(where: { $0.snapshotID == cursor.snapshotID }) {
            guard cut.facts.lastPosition != cursor.position else { return }
            report.problems.append(
                VerificationProblem(
                    kind: .tampered, location: location,
                    message: "the store's flush cursor is at position \(cursor.position) with snapshot "
                        + "\(cursor.snapshotID), but that snapshot ends at position \(cut.facts.lastPosition): the "
                        + "store or the manifest was altered"))
        } else if cursor.position > head?.facts.lastPosition ?? 0 {
            report.problems.append(
                VerificationProblem(
                    kind: .tampered, location: location,
                    message: "the store has archived through position \(cursor.position) (snapshot "
                        + "\(cursor.snapshotID)), but \(headFact): committed snapshots are missing from the archive "
                        + "(deleted, or hidden by a rolled-back history), or --store names another archive's store"))
        } else {
            report.problems.append(
                VerificationProblem(
                    kind: .tampered, location: location,
                    message: "the store's flush cursor names snapshot \(cursor.snapshotID) (position "
                        + "\(cursor.position)), which is not in this archive's history (\(headFact)): the store "
                        + "belongs to another archive, or history was rewritten"))
        }
    }
}
