import ArchiverCore
import Lode

/// The newest restore drill's attestation, read from the head snapshot of the archive's `drills` dataset and
/// kept until the head moves (the drill log is never listed whole per request).
actor LastDrill {
    let archive: Archive
    private var cached: (snapshotID: String, attestation: DrillAttestation?)?

    init(archive: Archive) { self.archive = archive }

    /// nil when no drill has run.
    func current() async throws -> DrillAttestation? {
        let dataset = try DrillLog(archive: archive).dataset
        guard let head = try await dataset.head() else { return nil }
        if let cached, cached.snapshotID == head.snapshotID { return cached.attestation }
        var newest: DrillAttestation?
        try await dataset.forEachRecord(in: head) { line in newest = try DrillAttestation.decode(Array(line)) }
        cached = (head.snapshotID, newest)
        return newest
    }
}
