import Foundation
public import Lode
import RawJSON

/// The archive's record of restore drills: a Lode dataset `drills` next to `events` (one snapshot per drill,
/// one attestation line in it), so the proof that the archive restores lives with the archive itself.
///
/// ```swift
/// let log = try DrillLog(archive: archive)
/// let newest = try await log.attestations().last
/// ```
public struct DrillLog: Sendable {
    public let archive: Archive
    public let dataset: LodeDataset

    public init(archive: Archive) throws {
        self.archive = archive
        self.dataset = try archive.sideDataset("drills")
    }

    enum Key {
        static let cut = "archiver.drill_cut_snapshot"
        static let lastPosition = "archiver.drill_last_position"
        static let result = "archiver.drill_result"
    }

    /// Appends an attestation as a new snapshot; retried once when another drill committed meanwhile.
    @discardableResult
    public func record(_ attestation: DrillAttestation) async throws -> Manifest {
        let metadata: [String: JSONValue] = [
            Key.cut: .string(attestation.cutSnapshotID), Key.lastPosition: .string(String(attestation.lastPosition)),
            Key.result: .string(attestation.result.rawValue),
        ]
        let line = try attestation.encoded()
        do {
            return try await dataset.write(records: [line], metadata: metadata)
        } catch let error as LodeError where error.code == .snapshotConflict {
            return try await dataset.write(records: [line], metadata: metadata)
        }
    }

    /// Every attestation, oldest first (empty when no drill ran). Every snapshot counts, also one written by a
    /// concurrent drill on a sibling branch: snapshot ids are ordered by time.
    public func attestations() async throws -> [DrillAttestation] {
        var found: [DrillAttestation] = []
        for manifest in try await dataset.allManifests() {
            try await dataset.forEachRecord(in: manifest) { line in
                found.append(try DrillAttestation.decode(Array(line)))
            }
        }
        return found
    }
}
