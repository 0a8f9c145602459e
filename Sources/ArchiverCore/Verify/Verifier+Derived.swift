import Lode

/// The objects derived from the committed manifests: the `latest` pointer and the hive partition copies. Both
/// are checked; with ``Verifier/repairs`` set, both are rewritten from the manifests where that is safe.
extension Verifier {
    /// A `latest` pointer behind the chain hides snapshots from readers that believe it (Go Lode): reported as
    /// tampering, or moved to the head by compare-and-swap when repairing.
    func checkPointer(_ report: inout VerificationReport) async throws {
        let events = archive.events
        let resolution = try await events.resolveHead()
        guard let behind = resolution.pointerBehindDescription else { return }
        if repairs, let moved = try await events.repairLatestPointer() {
            report.repaired.append(
                "\(events.latestPointerKey): moved from snapshot \(moved.from) to the head \(moved.to)")
            return
        }
        report.problems.append(
            VerificationProblem(
                kind: .tampered, location: events.latestPointerKey,
                message: behind + ": readers that believe it (Go Lode) miss the snapshots after it; "
                    + "`archiver verify --repair` moves it to the head"))
    }

    /// Every hive partition copy of the verified snapshots must exist with its canonical manifest's bytes. A
    /// missing copy (its write failed after the commit) is rewritten byte-identical when repairing; a differing
    /// one is tampering and is never overwritten.
    func checkPartitionCopies(_ report: inout VerificationReport, cuts: [CutPoint]) async throws {
        let events = archive.events
        for cut in cuts {
            let check = try await events.checkPartitionCopies(of: cut.manifest)
            for key in check.differing {
                report.problems.append(
                    VerificationProblem(
                        kind: .tampered, location: key,
                        message: "this partition copy of the manifest of snapshot \(cut.snapshotID) differs from "
                            + "the canonical manifest: a copy was edited or replaced"))
            }
            guard !check.missing.isEmpty else { continue }
            if repairs {
                for key in try await events.repairPartitionCopies(of: cut.manifest) {
                    report.repaired.append("\(key): partition copy rewritten from the canonical manifest")
                }
                continue
            }
            for key in check.missing {
                report.problems.append(
                    VerificationProblem(
                        kind: .unreadable, location: key,
                        message: "the partition copy of the manifest of snapshot \(cut.snapshotID) is missing (its "
                            + "write failed after the commit): partition listings miss the snapshot; `archiver "
                            + "verify --repair` rewrites it from the canonical manifest"))
            }
        }
    }
}
