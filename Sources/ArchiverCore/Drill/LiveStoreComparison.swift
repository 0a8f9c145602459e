import ArchiveFormat
import Coordination
import Lode

/// Compares a store restored from the archive with the live store at the same cut: the flush cursor, every
/// event above the live store's pruned position (field by field, and as a digest), and stream heads.
struct LiveStoreComparison {
    let archive: Archive
    let live: any CoordinationStore
    let restored: any CoordinationStore
    /// The drilled cut and the archive's newest cut.
    let cut: CutPoint
    let head: CutPoint
    /// At most this many event differences are listed one by one; the rest are counted.
    static let listedEventDifferences = 10

    struct Outcome {
        var differences: [String] = []
        var prunedThrough: Int64 = 0
        var eventsCompared: Int64 = 0
        var headsCompared: Int64 = 0
        var restoredDigest = ""
        var liveDigest = ""
    }

    func run() async throws -> Outcome {
        var outcome = Outcome()
        outcome.differences += try await cursorDifferences()
        outcome.prunedThrough = try await live.prunedThrough()
        try await compareEvents(into: &outcome)
        try await compareHeads(into: &outcome)
        return outcome
    }

    /// The live store's flush cursor must be at or above the cut and at or below the archive's head, with the
    /// same chain head where positions meet: otherwise the store wrote another archive, or the archive lost
    /// snapshots (a deleted manifest, a rolled-back `latest` pointer).
    func cursorDifferences() async throws -> [String] {
        let cursor = try await live.flushCursor()
        if cursor.position > head.facts.lastPosition, try await !flushCommittedSince(through: cursor.position) {
            return [
                "the live store's flush cursor is at position \(cursor.position) (snapshot \(cursor.snapshotID)), "
                    + "but the archive ends at position \(head.facts.lastPosition) (snapshot \(head.snapshotID)): "
                    + "the archive lost snapshots or its latest pointer was rolled back; run `archiver verify`"
            ]
        }
        if cursor.position < cut.facts.lastPosition, try await !flushCompleting(through: cut.facts.lastPosition) {
            return [
                "the live store's flush cursor (position \(cursor.position)) is below the cut's last position "
                    + "\(cut.facts.lastPosition): this store did not write this archive; check --store and --archive"
            ]
        }
        for point in [cut, head] where cursor.position == point.facts.lastPosition {
            if cursor.chainHead != point.facts.chainHead.hex {
                return [
                    "the live store's chain head at position \(cursor.position) is \(cursor.chainHead.prefix(16))…, "
                        + "but snapshot \(point.snapshotID) records \(point.facts.chainHead.hex.prefix(16))…: the "
                        + "store belongs to another archive; check --store and --archive"
                ]
            }
        }
        return []
    }

    /// Whether the archive's head now reaches `position`: a flush running beside the drill (in `serve`) commits
    /// its manifest before it moves the cursor, so a cursor past the head read earlier is fine if the head moved.
    func flushCommittedSince(through position: Int64) async throws -> Bool {
        guard let manifest = try await archive.events.head(),
            let facts = try? ArchiveMetadata(entries: manifest.stringMetadata)
        else { return false }
        return facts.lastPosition >= position
    }

    /// Whether the store's pending flush intent covers `position`: its manifest is committed, its cursor not yet.
    func flushCompleting(through position: Int64) async throws -> Bool {
        guard let intent = try await live.pendingFlushIntent() else { return false }
        return intent.lastPosition >= position
    }

    /// Walks the restored and live events above the pruned position in step.
    func compareEvents(into outcome: inout Outcome) async throws {
        let keys = try await live.subjectKeys()
        let through = cut.facts.lastPosition
        var mine = EventPager(store: restored, after: outcome.prunedThrough, through: through)
        var theirs = EventPager(store: live, after: outcome.prunedThrough, through: through)
        var (restoredDigest, liveDigest) = (EventDigest(), EventDigest())
        var found: [String] = []
        var r = try await mine.next()
        var l = try await theirs.next()
        while r != nil || l != nil {
            if let a = r, l == nil || a.position < l!.position {
                found.append("position \(a.position) (stream \(a.stream)) is in the archive but not in the live store")
                restoredDigest.add(a)
                r = try await mine.next()
            } else if let b = l, r == nil || b.position < r!.position {
                found.append("position \(b.position) (stream \(b.stream)) is in the live store but not in the archive")
                liveDigest.add(b)
                l = try await theirs.next()
            } else if var a = r, var b = l {
                Self.normalizeData(&a, &b, keys: keys)
                if let field = Self.firstDifferentField(a, b) {
                    found.append("position \(a.position) (stream \(a.stream)): \(field) differs from the live store")
                }
                restoredDigest.add(a)
                liveDigest.add(b)
                r = try await mine.next()
                l = try await theirs.next()
            }
        }
        outcome.eventsCompared = liveDigest.count
        outcome.restoredDigest = restoredDigest.finalize()
        outcome.liveDigest = liveDigest.finalize()
        if found.count > Self.listedEventDifferences {
            let more = found.count - Self.listedEventDifferences
            found = Array(found.prefix(Self.listedEventDifferences)) + ["… and \(more) more event differences"]
        }
        if found.isEmpty && outcome.restoredDigest != outcome.liveDigest {
            found.append("the restored events' digest differs from the live store's")
        }
        outcome.differences += found
    }

    /// Archived data may be sealed for its subject (crypto-shredding) while the live store holds it plain: it is
    /// opened with the live store's keys; when the subject is forgotten, data is not compared.
    static func normalizeData(_ archived: inout RecordedEvent, _ live: inout RecordedEvent, keys: [String: SubjectKey])
    {
        var data = archived.data
        let opened: String? = data.withUTF8 { bytes in
            let raw = UnsafeRawBufferPointer(bytes)
            guard SubjectCipher.isEnvelope(raw) else { return nil }
            return (try? SubjectCipher.open(raw, keys: keys, id: archived.id, position: archived.position))
                ?? SubjectCipher.unavailableData
        }
        if let opened { archived.data = opened }
        let unreadable = [SubjectCipher.forgottenData, SubjectCipher.unavailableData]
        if unreadable.contains(archived.data) || unreadable.contains(live.data) {
            archived.data = SubjectCipher.forgottenData
            live.data = SubjectCipher.forgottenData
        }
    }

    static func firstDifferentField(_ a: RecordedEvent, _ b: RecordedEvent) -> String? {
        if a.stream != b.stream { return "the stream" }
        if a.version != b.version { return "the stream version" }
        if a.id != b.id { return "the event id" }
        if a.type != b.type { return "the type" }
        if a.recordedAtNanos / 1_000 != b.recordedAtNanos / 1_000 { return "the recorded time" }
        if a.metadata != b.metadata { return "the metadata" }
        if a.data != b.data { return "the data" }
        return nil
    }

    /// Stream heads the cut covers must match; a live stream that moved on after the cut must be ahead.
    func compareHeads(into outcome: inout Outcome) async throws {
        let through = cut.facts.lastPosition
        var after: String? = nil
        while true {
            let page = try await restored.streams(after: after, limit: 1_000)
            for head in page {
                outcome.headsCompared += 1
                guard let current = try await live.streamHead(head.stream) else {
                    outcome.differences.append("stream \(head.stream) is in the archive but not in the live store")
                    continue
                }
                let matches =
                    current.lastPosition <= through
                    ? current == head : current.version > head.version && current.lastPosition > head.lastPosition
                if !matches {
                    outcome.differences.append(
                        "stream \(head.stream): the archive's head is version \(head.version) at position "
                            + "\(head.lastPosition), the live store's is version \(current.version) at position "
                            + "\(current.lastPosition)")
                }
            }
            guard page.count == 1_000 else { break }
            after = page.last?.stream
        }
        try await findLiveStreamsMissingFromArchive(through: through, into: &outcome)
    }

    func findLiveStreamsMissingFromArchive(through: Int64, into outcome: inout Outcome) async throws {
        var after: String? = nil
        while true {
            let page = try await live.streams(after: after, limit: 1_000)
            for head in page where head.lastPosition <= through {
                if try await restored.streamHead(head.stream) == nil {
                    outcome.differences.append(
                        "stream \(head.stream) (version \(head.version) at position \(head.lastPosition)) is in the "
                            + "live store but not in the archive")
                }
            }
            guard page.count == 1_000 else { break }
            after = page.last?.stream
        }
    }
}
