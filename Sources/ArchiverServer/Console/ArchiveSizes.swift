import ArchiverCore
import Foundation
import Lode

/// Stored bytes of the archive's current chain, by category and by day, summed from manifests (the paths of
/// their files carry `category=` and `day=`).
///
/// Kept in memory and brought up to date from the head: a new snapshot costs one manifest read (walking
/// parent links back to the head already counted), so the console never lists the archive per request. When
/// the chain was rewritten (compaction) the whole chain is read again through the catalog.
actor ArchiveSizes {
    struct Totals: Sendable, Hashable {
        var headSnapshotID: String?
        var bytes: Int64 = 0
        var files: Int = 0
        var byCategory: [String: Int64] = [:]
        var byDay: [String: Int64] = [:]

        mutating func add(_ manifest: Manifest) {
            for file in manifest.files {
                bytes += file.sizeBytes
                files += 1
                let parts = file.path.split(separator: "/")
                let category = parts.first { $0.hasPrefix("category=") }.map { String($0.dropFirst(9)) }
                let day = parts.first { $0.hasPrefix("day=") }.map { String($0.dropFirst(4)) }
                byCategory[category ?? "(none)", default: 0] += file.sizeBytes
                byDay[day ?? "(none)", default: 0] += file.sizeBytes
            }
            headSnapshotID = manifest.snapshotID
        }
    }

    /// New snapshots read one by one before falling back to the catalog.
    static let maxWalk = 256

    let archive: Archive
    private var totals = Totals()

    init(archive: Archive) { self.archive = archive }

    /// The totals as of the archive's current head.
    func current() async throws -> Totals {
        guard let head = try await archive.events.head() else { return Totals() }
        if head.snapshotID == totals.headSnapshotID { return totals }
        var newer: [Manifest] = []
        var manifest: Manifest? = head
        while let next = manifest, next.snapshotID != totals.headSnapshotID, newer.count < Self.maxWalk {
            newer.append(next)
            if let parent = next.parentSnapshotID, !parent.isEmpty {
                manifest = try await archive.events.manifest(parent)
            } else {
                manifest = nil
            }
        }
        if manifest?.snapshotID == totals.headSnapshotID || (manifest == nil && totals.headSnapshotID == nil) {
            for m in newer.reversed() { totals.add(m) }
        } else {
            var fresh = Totals()
            for cut in try await archive.cutPoints() { fresh.add(cut.manifest) }
            totals = fresh
        }
        return totals
    }
}
