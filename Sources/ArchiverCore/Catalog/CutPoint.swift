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
        /// Checkpoint parts read to resolve the selector (at most one with a current-format checkpoint).
        public var partsRead = 0
        /// Why the catalog was not used, when it was not.
        public var notes: [String] = []

        public init() {}

        /// e.g. `catalog checkpoint 1767… (20000 snapshots) + 12 manifests`.
        public var summary: String {
            if let checkpoint {
                return "catalog checkpoint \(checkpoint) (\(fromCheckpoint) snapshots) + \(manifestsRead) manifests"
                    + (partsRead > 0 ? ", \(partsRead) part\(partsRead == 1 ? "" : "s") read to find the cut" : "")
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

    static func cutPoints(_ manifests: some Sequence<Manifest>) throws -> [CutPoint] {
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

    /// Every cut point of the chain to the head, in memory.
    ///
    /// With `.catalog`, reads the newest catalog checkpoint (every part) and then the manifests after it,
    /// walking parent links back from the head until the checkpoint's last snapshot. A missing, damaged or
    /// foreign checkpoint falls back to the manifests, with a note. (Forks are found by `verify`, which always
    /// walks every manifest.) A replay does not need them all: ``plan(to:source:)`` finds the cut without them.
    public func resolveCutPoints(source: CutPointSource = .catalog) async throws -> CutPointResolution {
        let plan: ReadPlan
        do {
            plan = try await resolvePlan(to: .latest, source: source)
        } catch let error as ArchiverError where error.code == .emptyArchive {
            return CutPointResolution(cuts: [], info: CutPointResolution.Info())
        }
        let (cuts, notes) = try await plan.allCutsWithNotes()
        var info = plan.planning
        info.notes += notes
        return CutPointResolution(cuts: cuts, info: info)
    }

    /// Resolves `--to` into the snapshots to read.
    ///
    /// With `.catalog` and a catalog checkpoint, this reads the checkpoint's manifest, the events manifests
    /// after it and, for a selector other than `latest` that falls inside the checkpoint, the one part that
    /// holds the cut (found by the part summaries): a handful of store reads whatever the archive's age. The
    /// plan's snapshots are decoded later, a part at a time, as the reader reaches them (``ReadPlan``).
    /// Otherwise (no checkpoint, or one that cannot be used, with a note) every manifest is read.
    /// - Parameters:
    ///   - source: `.catalog` (the default) uses the newest catalog checkpoint when there is one.
    /// - Throws: ``ArchiverError`` `.emptyArchive`, or `.unknownCut` listing the nearest cut points.
    public func plan(to selector: CutSelector, source: CutPointSource = .catalog) async throws -> ReadPlan {
        var plan = try await resolvePlan(to: selector, source: source)
        plan.generation = try await activeGeneration()
        return plan
    }

    func resolvePlan(to selector: CutSelector, source: CutPointSource) async throws -> ReadPlan {
        // A rolled-back `latest` pointer is noticed here (the head is the chain's, with a warning).
        let resolution = try await events.resolveHead()
        var notes = Self.headWarnings(resolution)
        if source == .catalog {
            do {
                if var plan = try await planFromCatalog(selector, head: resolution.head) {
                    plan.planning.notes = notes + plan.planning.notes
                    return plan
                }
            } catch let error as ArchiverError where error.code == .unknownCut || error.code == .emptyArchive {
                throw error
            } catch {
                let reason = (error as? ArchiverError)?.message ?? (error as? LodeError)?.message ?? "\(error)"
                notes.append(
                    "the catalog checkpoint is not usable (\(reason)); reading every manifest instead (`archiver "
                        + "catalog rebuild` writes a fresh one)")
            }
        }
        var manifests: [Manifest] = []
        if let head = resolution.head { manifests = try await events.history(upTo: head.snapshotID) }
        var plan = try plan(to: selector, in: try Self.cutPoints(manifests))
        plan.planning.manifestsRead = manifests.count
        plan.planning.notes = notes
        return plan
    }

    /// A warning when the `latest` pointer is behind the chain: the head used is the chain's, which readers that
    /// believe the pointer (Go Lode) would not see.
    static func headWarnings(_ resolution: HeadResolution) -> [String] {
        guard let behind = resolution.pointerBehindDescription, let head = resolution.head else { return [] }
        return [
            "WARNING: \(behind) (tampering?); using the chain's head \(head.snapshotID). `archiver verify` reports "
                + "it, `archiver verify --repair` fixes it"
        ]
    }

    /// The plan from the newest catalog checkpoint and the manifests after it; nil when there is no checkpoint
    /// (or nothing archived). Throws `.unknownCut` for a selector that names nothing, other errors when the
    /// checkpoint cannot be used.
    func planFromCatalog(_ selector: CutSelector, head: Manifest?) async throws -> ReadPlan? {
        guard let planner = try await CatalogPlanner(archive: self, selector: selector, head: head) else { return nil }
        return try await planner.plan()
    }

    func plan(to selector: CutSelector, in all: [CutPoint]) throws -> ReadPlan {
        guard let last = all.last else {
            throw ArchiverError(
                .emptyArchive, "the archive has no snapshots yet: run `archiver flush` to archive events first")
        }
        func unknown() -> ArchiverError {
            unknownCut(
                selector, names: all.compactMap(\.name), latest: last.snapshotID,
                earliestRecordedAt: all.map(\.facts.minRecordedAtNanos).min() ?? 0)
        }
        switch selector {
        case .latest:
            return ReadPlan(cuts: all, maxPosition: nil, maxRecordedAt: nil, selector: selector)
        case .name(let name):
            guard let index = all.lastIndex(where: { $0.name == name }) else { throw unknown() }
            return ReadPlan(cuts: Array(all[...index]), maxPosition: nil, maxRecordedAt: nil, selector: selector)
        case .snapshot(let id):
            guard let index = all.firstIndex(where: { $0.snapshotID == id }) else { throw unknown() }
            return ReadPlan(cuts: Array(all[...index]), maxPosition: nil, maxRecordedAt: nil, selector: selector)
        case .position(let position):
            guard position <= last.facts.lastPosition else { throw notArchivedYet(position, head: last) }
            let index = all.firstIndex(where: { $0.facts.lastPosition >= position }) ?? all.count - 1
            return ReadPlan(cuts: Array(all[...index]), maxPosition: position, maxRecordedAt: nil, selector: selector)
        case .time(let nanos):
            // Record times follow commit order only roughly (clocks, concurrent transactions), so every
            // snapshot that starts at or before the time may hold qualifying events.
            guard let index = all.lastIndex(where: { $0.facts.minRecordedAtNanos <= nanos }) else { throw unknown() }
            return ReadPlan(cuts: Array(all[...index]), maxPosition: nil, maxRecordedAt: nanos, selector: selector)
        }
    }

    /// The error for a position past the archive's last snapshot `head`.
    func notArchivedYet(_ position: Int64, head: CutPoint) -> ArchiverError {
        ArchiverError(
            .unknownCut,
            "position \(position) is not archived yet: the archive ends at position \(head.facts.lastPosition) "
                + "(snapshot \(head.snapshotID)); run `archiver flush` first")
    }

    /// The error for a selector that names no snapshot, with hints: the nearest names (`names`: the cut point
    /// names of the chain, oldest first), the latest snapshot, or the earliest record time.
    func unknownCut(
        _ selector: CutSelector, names: [String], latest: String, earliestRecordedAt: Int64
    ) -> ArchiverError {
        if case .time(let nanos) = selector {
            return ArchiverError(
                .unknownCut,
                "no archived event was recorded at or before \(ArchiveTime.rfc3339Micros(nanos)); the first "
                    + "was recorded at \(ArchiveTime.rfc3339Micros(earliestRecordedAt))")
        }
        var hint: String
        if case .name(let wanted) = selector, !names.isEmpty {
            var distinct: [String] = []
            for name in names where !distinct.contains(name) { distinct.append(name) }
            let nearest = distinct.sorted { editDistance($0, wanted) < editDistance($1, wanted) }.prefix(3)
            hint = "nearest cut points: " + nearest.joined(separator: ", ")
        } else if !names.isEmpty {
            hint = "named cut points: " + names.suffix(3).joined(separator: ", ")
        } else {
            hint = "no cut point has a name; the latest snapshot is \(latest)"
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
