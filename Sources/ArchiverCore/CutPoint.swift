public import ArchiveFormat
public import Lode

/// A committed snapshot of the events dataset, seen as a cut point: the archive as of that snapshot is
/// the chain of snapshots from the first up to it.
public struct CutPoint: Sendable {
    public var manifest: Manifest
    public var facts: ArchiveMetadata
    /// For a snapshot of a compacted generation: the original snapshots it replaces (nil for originals).
    public var run: GenerationRun? = nil

    public var snapshotID: String { manifest.snapshotID }
    public var name: String? { facts.cutName }
}

/// What `--to` names: `latest`, a cut point name, a snapshot id, a global position or an RFC 3339 time.
public enum CutSelector: Sendable, Hashable, CustomStringConvertible {
    case latest
    case name(String)
    case snapshot(String)
    case position(Int64)
    /// Nanoseconds since the epoch.
    case time(Int64)

    /// Parses `latest`, 19-digit snapshot ids, other integers as positions, RFC 3339 times, and names.
    /// `name:X`, `snapshot:X`, `position:X` force a reading.
    public init(parsing text: String) {
        if text == "latest" {
            self = .latest
        } else if text.hasPrefix("name:") {
            self = .name(String(text.dropFirst(5)))
        } else if text.hasPrefix("snapshot:") {
            self = .snapshot(String(text.dropFirst(9)))
        } else if text.hasPrefix("position:"), let p = Int64(text.dropFirst(9)) {
            self = .position(p)
        } else if text.utf8.count == 19, text.utf8.allSatisfy({ $0 >= 48 && $0 <= 57 }) {
            self = .snapshot(text)
        } else if let p = Int64(text), p >= 0 {
            self = .position(p)
        } else if let t = ArchiveTime.parseRFC3339(text) {
            self = .time(t)
        } else {
            self = .name(text)
        }
    }

    public var description: String {
        switch self {
        case .latest: "latest"
        case .name(let n): "cut point '\(n)'"
        case .snapshot(let s): "snapshot \(s)"
        case .position(let p): "position \(p)"
        case .time(let t): "time \(ArchiveTime.rfc3339Micros(t))"
        }
    }
}

/// The snapshots to read for a cut and the bounds to apply to their events.
public struct ReadPlan: Sendable {
    /// Snapshots in chain order, oldest first.
    public var cuts: [CutPoint]
    /// Deliver only events at or below this position (a position cut), or nil.
    public var maxPosition: Int64?
    /// Deliver only events recorded at or before this time (a time cut), or nil.
    public var maxRecordedAt: Int64?
    public var selector: CutSelector
    /// How the snapshots were found (catalog checkpoint or chain walk) and any notes about it.
    public var planning = CutPointResolution.Info()
    /// The compacted generation whose runs are read in place of the original snapshots they cover (`cuts` stays
    /// the original snapshots: cut points, signatures and proofs refer to them).
    public var generation: ActiveGeneration? = nil

    /// Position of the last event the plan can deliver.
    public var lastPosition: Int64 {
        let last = cuts.last?.facts.lastPosition ?? 0
        return maxPosition.map { min($0, last) } ?? last
    }
}

/// Where cut points are read from.
public enum CutPointSource: Sendable, Hashable {
    /// The newest catalog checkpoint plus the manifests after it; the manifests when there is no usable one.
    case catalog
    /// Every manifest of the chain (what `verify` audits).
    case manifests
}

/// The cut points of the events dataset and how they were found.
public struct CutPointResolution: Sendable {
    public struct Info: Sendable, Hashable {
        /// The catalog checkpoint used (catalog snapshot id), or nil when the manifests were walked.
        public var checkpoint: String?
        /// Snapshots taken from the checkpoint.
        public var fromCheckpoint = 0
        /// Events manifests read (after the checkpoint, or all of them for a chain walk).
        public var manifestsRead = 0
        /// Why the catalog was not used, when it was not.
        public var notes: [String] = []

        public init() {}

        /// e.g. `checkpoint 1767… (20000 snapshots) + 12 manifests`.
        public var summary: String {
            if let checkpoint {
                return "catalog checkpoint \(checkpoint) (\(fromCheckpoint) snapshots) + \(manifestsRead) manifests"
            }
            return "chain walk of \(manifestsRead) manifests"
        }
    }

    /// Oldest first.
    public var cuts: [CutPoint]
    public var info: Info
}

extension Archive {
    /// Every cut point of the events dataset, oldest first, following parent links from the head; with
    /// `upTo`, the chain ending at that snapshot (always from the manifests).
    /// - Throws: Lode errors for a broken chain.
    public func cutPoints(upTo snapshotID: String? = nil) async throws -> [CutPoint] {
        if snapshotID == nil { return try await resolveCutPoints().cuts }
        return try Self.cutPoints(try await events.history(upTo: snapshotID))
    }

    static func cutPoints(_ manifests: [Manifest]) throws -> [CutPoint] {
        try manifests.map { manifest in
            do throws(ArchiveFormatError) {
                let entries = manifest.stringMetadata
                return CutPoint(
                    manifest: manifest, facts: try ArchiveMetadata(entries: entries),
                    run: GenerationRun(entries: entries))
            } catch {
                throw ArchiverError(.unreadable, "snapshot \(manifest.snapshotID): \(error.message)")
            }
        }
    }

    /// The chain of cut points to the head.
    ///
    /// With `.catalog`, reads the newest catalog checkpoint and then the manifests after it, walking parent
    /// links back from the head until the checkpoint's last snapshot: a handful of store reads whatever the
    /// archive's age. A missing, damaged or foreign checkpoint falls back to the manifests, with a note.
    /// (Forks are found by `verify`, which always walks every manifest.)
    public func resolveCutPoints(source: CutPointSource = .catalog) async throws -> CutPointResolution {
        var info = CutPointResolution.Info()
        if source == .catalog {
            do {
                if let resolved = try await cutPointsFromCatalog() { return resolved }
            } catch {
                info.notes.append(
                    "the catalog checkpoint is not usable (\((error as? ArchiverError)?.message ?? "\(error)")); "
                        + "reading every manifest instead (`archiver catalog rebuild` writes a fresh one)")
            }
        }
        let manifests = try await events.history()
        info.manifestsRead = manifests.count
        return CutPointResolution(cuts: try Self.cutPoints(manifests), info: info)
    }

    /// nil when there is no checkpoint (or nothing archived); throws when one exists but cannot be used.
    func cutPointsFromCatalog() async throws -> CutPointResolution? {
        let catalog = try ArchiveCatalog(archive: self)
        guard let checkpoint = try await catalog.latest(), let head = try await events.head() else { return nil }
        // The manifests after the checkpoint, newest first: parent links from the head back to its last snapshot.
        var tail: [Manifest] = []
        if head.snapshotID != checkpoint.throughSnapshotID {
            var current = head
            tail.append(head)
            while let parent = current.parent, parent != checkpoint.throughSnapshotID {
                current = try await events.manifest(parent)
                tail.append(current)
            }
            guard current.parent == checkpoint.throughSnapshotID else {
                throw ArchiverError(
                    .unreadable,
                    "checkpoint \(checkpoint.snapshotID) ends at snapshot \(checkpoint.throughSnapshotID), which is "
                        + "not on the chain of the head \(head.snapshotID)")
            }
        }
        let entries = try await catalog.entries(of: checkpoint)
        var info = CutPointResolution.Info()
        info.checkpoint = checkpoint.snapshotID
        info.fromCheckpoint = entries.count
        info.manifestsRead = tail.count
        let cuts = try Self.cutPoints(entries.map(\.manifest) + tail.reversed())
        return CutPointResolution(cuts: cuts, info: info)
    }

    /// Resolves `--to` into the snapshots to read.
    /// - Parameter source: `.catalog` (the default) uses the newest catalog checkpoint when there is one.
    /// - Throws: ``ArchiverError`` `.emptyArchive`, or `.unknownCut` listing the nearest cut points.
    public func plan(to selector: CutSelector, source: CutPointSource = .catalog) async throws -> ReadPlan {
        let resolution = try await resolveCutPoints(source: source)
        var plan = try plan(to: selector, in: resolution.cuts)
        plan.planning = resolution.info
        plan.generation = try await activeGeneration()
        return plan
    }

    func plan(to selector: CutSelector, in all: [CutPoint]) throws -> ReadPlan {
        guard let last = all.last else {
            throw ArchiverError(
                .emptyArchive, "the archive has no snapshots yet: run `archiver flush` to archive events first")
        }
        switch selector {
        case .latest:
            return ReadPlan(cuts: all, maxPosition: nil, maxRecordedAt: nil, selector: selector)
        case .name(let name):
            guard let index = all.lastIndex(where: { $0.name == name }) else {
                throw unknownCut(selector, all: all)
            }
            return ReadPlan(cuts: Array(all[...index]), maxPosition: nil, maxRecordedAt: nil, selector: selector)
        case .snapshot(let id):
            guard let index = all.firstIndex(where: { $0.snapshotID == id }) else {
                throw unknownCut(selector, all: all)
            }
            return ReadPlan(cuts: Array(all[...index]), maxPosition: nil, maxRecordedAt: nil, selector: selector)
        case .position(let position):
            guard position <= last.facts.lastPosition else {
                throw ArchiverError(
                    .unknownCut,
                    "position \(position) is not archived yet: the archive ends at position "
                        + "\(last.facts.lastPosition) (snapshot \(last.snapshotID)); run `archiver flush` first")
            }
            let index = all.firstIndex(where: { $0.facts.lastPosition >= position }) ?? all.count - 1
            return ReadPlan(cuts: Array(all[...index]), maxPosition: position, maxRecordedAt: nil, selector: selector)
        case .time(let nanos):
            // Record times follow commit order only roughly (clocks, concurrent transactions), so every
            // snapshot that starts at or before the time may hold qualifying events.
            let cuts = all.filter { $0.facts.minRecordedAtNanos <= nanos }
            guard !cuts.isEmpty else {
                throw ArchiverError(
                    .unknownCut,
                    "no archived event was recorded at or before \(ArchiveTime.rfc3339Micros(nanos)); the first "
                        + "was recorded at \(ArchiveTime.rfc3339Micros(all[0].facts.minRecordedAtNanos))")
            }
            let prefix = Array(all.prefix(through: all.lastIndex(where: { $0.facts.minRecordedAtNanos <= nanos })!))
            return ReadPlan(cuts: prefix, maxPosition: nil, maxRecordedAt: nanos, selector: selector)
        }
    }

    func unknownCut(_ selector: CutSelector, all: [CutPoint]) -> ArchiverError {
        let named = all.compactMap { cut in cut.name.map { ($0, cut) } }
        var hint: String
        if case .name(let wanted) = selector, !named.isEmpty {
            let nearest = named.map(\.0).sorted { editDistance($0, wanted) < editDistance($1, wanted) }.prefix(3)
            hint = "nearest cut points: " + nearest.joined(separator: ", ")
        } else if !named.isEmpty {
            hint = "named cut points: " + named.suffix(3).map(\.0).joined(separator: ", ")
        } else {
            hint = "no cut point has a name; the latest snapshot is \(all.last!.snapshotID)"
        }
        hint += " (see `archiver cut list`)"
        return ArchiverError(.unknownCut, "no \(selector) in the archive; \(hint)")
    }
}

/// Levenshtein distance, for "did you mean" hints.
func editDistance(_ a: String, _ b: String) -> Int {
    let a = Array(a.unicodeScalars)
    let b = Array(b.unicodeScalars)
    if a.isEmpty { return b.count }
    var previous = Array(0...b.count)
    for i in 1...a.count {
        var current = [i] + [Int](repeating: 0, count: b.count)
        for j in 1...max(1, b.count) where b.count > 0 {
            current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1))
        }
        previous = current
    }
    return previous[b.count]
}
