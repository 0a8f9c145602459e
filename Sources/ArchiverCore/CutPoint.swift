public import ArchiveFormat
public import Lode

/// A committed snapshot of the events dataset, seen as a cut point: the archive as of that snapshot is
/// the chain of snapshots from the first up to it.
public struct CutPoint: Sendable {
    public var manifest: Manifest
    public var facts: ArchiveMetadata

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

    /// Position of the last event the plan can deliver.
    public var lastPosition: Int64 {
        let last = cuts.last?.facts.lastPosition ?? 0
        return maxPosition.map { min($0, last) } ?? last
    }
}

extension Archive {
    /// Every cut point of the events dataset, oldest first, following parent links from the head.
    /// - Throws: ``ArchiverError`` `.emptyArchive` when nothing was flushed yet; Lode errors for a broken chain.
    public func cutPoints(upTo snapshotID: String? = nil) async throws -> [CutPoint] {
        let manifests = try await events.history(upTo: snapshotID)
        return try manifests.map { manifest in
            do throws(ArchiveFormatError) {
                return CutPoint(manifest: manifest, facts: try ArchiveMetadata(entries: manifest.stringMetadata))
            } catch {
                throw ArchiverError(.unreadable, "snapshot \(manifest.snapshotID): \(error.message)")
            }
        }
    }

    /// Resolves `--to` into the snapshots to read.
    /// - Throws: ``ArchiverError`` `.emptyArchive`, or `.unknownCut` listing the nearest cut points.
    public func plan(to selector: CutSelector) async throws -> ReadPlan {
        let all = try await cutPoints()
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
