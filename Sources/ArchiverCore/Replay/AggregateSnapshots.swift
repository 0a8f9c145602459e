import ArchiveFormat
import Foundation
import Lode
import RawJSON

/// An aggregate snapshot: the rows a projection had at a cut point.
public struct AggregateSnapshotInfo: Sendable {
    public var snapshotID: String
    /// The events cut point the rows are as of.
    public var cutSnapshotID: String
    /// The rows include every selected event at or below this position.
    public var lastPosition: Int64
    public var rows: Int64
}

/// Projection state saved as its own Lode dataset, `aggregates/datasets/<projection>/…` in the archive's store,
/// tagged with the projection's identity and the replay filter, so a later replay starts from the newest
/// compatible one and applies only the events after it.
public struct AggregateSnapshots: Sendable {
    public let archive: Archive
    public let identity: ProjectionIdentity
    public let filter: ReplayFilter
    /// The hash of the upcaster rule set the projection sees events through (nil: none); a snapshot made under
    /// other rules is ignored with a note.
    public var upcasters: String?
    let dataset: LodeDataset

    public init(archive: Archive, identity: ProjectionIdentity, filter: ReplayFilter) throws {
        self.archive = archive
        self.identity = identity
        self.filter = filter
        let name = identity.name.map { $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" ? $0 : "_" }
        self.dataset = try LodeDataset(
            store: PrefixedStore(base: archive.store, prefix: "aggregates/"), datasetID: String(name.prefix(120)),
            layout: .default, codec: .jsonl, compressor: .zstd(level: 3), checksum: .md5)
    }

    enum Key {
        static let name = "archiver.projection"
        static let version = "archiver.projection_version"
        static let filter = "archiver.filter"
        static let cut = "archiver.cut_snapshot"
        static let lastPosition = "archiver.last_position"
        static let upcasters = "archiver.upcasters_sha256"
    }

    /// Saves `rows` as the state at `plan`'s cut.
    @discardableResult
    public func save(_ rows: [ProjectedRow], plan: ReadPlan) async throws -> AggregateSnapshotInfo {
        guard let cut = plan.last else { throw ArchiverError(.emptyArchive, "nothing to snapshot") }
        var metadata: [String: JSONValue] = [
            Key.name: .string(identity.name), Key.version: .string(identity.version),
            Key.filter: .string(filter.signature),
            Key.cut: .string(cut.snapshotID), Key.lastPosition: .string(String(plan.lastPosition)),
        ]
        if let upcasters { metadata[Key.upcasters] = .string(upcasters) }
        let manifest = try await dataset.write(records: rows.map { Array($0.json.utf8) }, metadata: metadata)
        return AggregateSnapshotInfo(
            snapshotID: manifest.snapshotID, cutSnapshotID: cut.snapshotID, lastPosition: plan.lastPosition,
            rows: Int64(rows.count))
    }

    /// The snapshot already saved for this projection and filter at `plan`'s cut, if any: saving again would only
    /// write the same rows twice.
    public func existing(at plan: ReadPlan) async throws -> AggregateSnapshotInfo? {
        guard let cut = plan.last, let head = try await dataset.head() else { return nil }
        for manifest in try await dataset.history(upTo: head.snapshotID).reversed() {
            let m = manifest.metadata.compactMapValues { $0.string }
            guard m[Key.name] == identity.name, m[Key.version] == identity.version,
                m[Key.filter] == filter.signature, m[Key.cut] == cut.snapshotID,
                m[Key.lastPosition] == String(plan.lastPosition)
            else { continue }
            return AggregateSnapshotInfo(
                snapshotID: manifest.snapshotID, cutSnapshotID: cut.snapshotID, lastPosition: plan.lastPosition,
                rows: manifest.rowCount)
        }
        return nil
    }

    /// The newest snapshot that this projection can start from for `plan`, with its rows; `notes` says why
    /// others were skipped.
    public func newestCompatible(
        for plan: ReadPlan
    ) async throws -> (info: AggregateSnapshotInfo, rows: [ProjectedRow], notes: [String])? {
        let search = try await search(for: plan)
        return search.found.map { ($0.info, $0.rows, search.notes) }
    }

    /// ``newestCompatible(for:)``, with the notes also when no snapshot is compatible.
    public func search(
        for plan: ReadPlan
    ) async throws -> (found: (info: AggregateSnapshotInfo, rows: [ProjectedRow])?, notes: [String]) {
        guard let head = try await dataset.head() else { return (nil, []) }
        var notes: [String] = []
        for manifest in try await dataset.history(upTo: head.snapshotID).reversed() {
            let m = manifest.metadata.compactMapValues { $0.string }
            let id = manifest.snapshotID
            guard m[Key.name] == identity.name, m[Key.version] == identity.version else {
                notes.append(
                    "aggregate snapshot \(id) is of \(m[Key.name] ?? "?")@\(m[Key.version] ?? "?"), not \(identity): ignored"
                )
                continue
            }
            guard m[Key.upcasters] == upcasters else {
                let made = m[Key.upcasters].map { "upcaster rules \($0.prefix(12))" } ?? "no upcasters"
                let now = upcasters.map { "rules \($0.prefix(12))" } ?? "none"
                notes.append("aggregate snapshot \(id) was made under \(made), not \(now): ignored")
                continue
            }
            guard m[Key.filter] == filter.signature else {
                notes.append("aggregate snapshot \(id) was taken with other filters: ignored")
                continue
            }
            // On the way: its cut is one of the plan's snapshots (at most one catalog part is read to know).
            guard let cut = m[Key.cut], let position = m[Key.lastPosition].flatMap(Int64.init),
                position <= plan.lastPosition, plan.maxRecordedAt == nil, try await plan.contains(snapshotID: cut)
            else {
                notes.append("aggregate snapshot \(id) is not on the way to \(plan.selector): ignored")
                continue
            }
            var rows: [ProjectedRow] = []
            try await dataset.forEachRecord(in: manifest) { line in
                let text = String(decoding: line, as: UTF8.self)
                rows.append(ProjectedRow(key: String(rows.count), json: text))
            }
            let info = AggregateSnapshotInfo(
                snapshotID: id, cutSnapshotID: cut, lastPosition: position, rows: Int64(rows.count))
            return ((info, rows), notes)
        }
        return (nil, notes)
    }
}
