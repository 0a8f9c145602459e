import ArchiveFormat
import Lode

extension ArchiveCatalog {
    /// Compares the newest checkpoint with the manifests it was derived from (`cuts`: the chain from the
    /// manifests, oldest first). Every disagreement is a problem located at the catalog entry; a catalog that
    /// was never written is none.
    public func problems(against cuts: [CutPoint]) async -> [VerificationProblem] {
        let checkpoint: CatalogCheckpoint
        do {
            guard let latest = try await latest() else { return [] }
            checkpoint = latest
        } catch {
            return [Self.problem(error, location: dataset.latestPointerKey)]
        }
        let location = "catalog checkpoint \(checkpoint.snapshotID)"
        let fix = "; run `archiver catalog rebuild`"
        let entries: [Entry]
        do {
            entries = try await self.entries(of: checkpoint)
        } catch {
            var problem = Self.problem(error, location: location)
            problem.message += fix
            return [problem]
        }
        var problems: [VerificationProblem] = []
        let byID = Dictionary(cuts.enumerated().map { ($1.snapshotID, $0) }, uniquingKeysWith: { a, _ in a })
        guard let end = byID[checkpoint.throughSnapshotID], end + 1 == entries.count else {
            return [
                VerificationProblem(
                    kind: .tampered, location: location,
                    message: "the checkpoint covers \(entries.count) snapshots through "
                        + "\(checkpoint.throughSnapshotID), which is not snapshot number \(entries.count) of the "
                        + "archive's chain" + fix)
            ]
        }
        problems += Self.entryProblems(entries, against: cuts, location: location, fix: fix)
        problems += partProblems(checkpoint, against: cuts, location: location, fix: fix)
        if checkpoint.chainHead != entries.last?.manifest.stringMetadata["archiver.chain_head"] {
            problems.append(
                VerificationProblem(
                    kind: .tampered, location: location,
                    message: "the checkpoint's chain head differs from its last entry's" + fix))
        }
        return problems
    }

    /// Each entry against the manifest of the snapshot it stands for.
    private static func entryProblems(
        _ entries: [Entry], against cuts: [CutPoint], location: String, fix: String
    ) -> [VerificationProblem] {
        var problems: [VerificationProblem] = []
        for (entry, cut) in zip(entries, cuts) {
            let real = cut.manifest
            let listed = entry.manifest
            var differences: [String] = []
            if listed.snapshotID != real.snapshotID { differences.append("snapshot id") }
            if listed.parent != real.parent { differences.append("parent") }
            if listed.files != real.files { differences.append("files (paths, sizes or checksums)") }
            if listed.metadata != real.metadata { differences.append("metadata (positions, chain hashes, …)") }
            if listed.rowCount != real.rowCount || listed.createdAt != real.createdAt
                || listed.minTimestamp != real.minTimestamp || listed.maxTimestamp != real.maxTimestamp
            {
                differences.append("row count or times")
            }
            guard !differences.isEmpty else { continue }
            problems.append(
                VerificationProblem(
                    kind: .tampered, location: "\(location), entry \(entry.sequence) (snapshot \(real.snapshotID))",
                    message: "the catalog disagrees with the manifest on " + differences.joined(separator: ", ") + fix))
        }
        return problems
    }

    /// The part summaries readers find cuts by, against the same snapshots' manifests.
    private func partProblems(
        _ checkpoint: CatalogCheckpoint, against cuts: [CutPoint], location: String, fix: String
    ) -> [VerificationProblem] {
        var problems: [VerificationProblem] = []
        do {
            for part in try parts(of: checkpoint) where checkpoint.format != Self.formatVersion1 {
                let partLocation = "\(location), part \(part.ref.path)"
                guard let summary = part.summary else {
                    problems.append(
                        VerificationProblem(
                            kind: .tampered, location: partLocation,
                            message: "the catalog manifest does not summarise this part (archiver.parts)" + fix))
                    continue
                }
                let covered = cuts[Int(part.sequences.lowerBound - 1)..<Int(part.sequences.upperBound)]
                if summary != CatalogPartSummary(first: part.sequences.lowerBound, cuts: covered) {
                    problems.append(
                        VerificationProblem(
                            kind: .tampered, location: partLocation,
                            message: "the part's summary (archiver.parts: snapshots, positions, times or cut names) "
                                + "disagrees with the manifests" + fix))
                }
            }
        } catch {
            var problem = Self.problem(error, location: location)
            problem.message += fix
            problems.append(problem)
        }
        return problems
    }

    static func problem(_ error: any Error, location: String) -> VerificationProblem {
        Verifier.problem(error, location: location)
    }
}
