import ArchiveFormat
import Coordination

/// The second, independent path over a restored store: its events re-encoded as archive records (re-hashing the
/// chain from genesis), folded with the built-in merge-patch fold, and counted per snapshot against the
/// manifests' own facts (event counts, first and last positions, chain starts and heads).
///
/// It shares no reader with the archive replay: events come from the scratch store's SQL, records are rebuilt
/// by the encoder, so a fault in either path shows up as a difference between them.
struct RestoredArchiveCheck {
    let cuts: [CutPoint]
    private(set) var fold = MergePatchFold()
    private(set) var encoder = RecordEncoder(chain: .genesis)
    private(set) var events: Int64 = 0
    private var countsPerCut: [Int64]
    private var cutIndex = 0
    private var outside: [Int64] = []
    private var line: [UInt8] = []

    init(cuts: [CutPoint]) {
        self.cuts = cuts
        self.countsPerCut = Array(repeating: 0, count: cuts.count)
    }

    /// Takes the restored events in position order.
    mutating func add(_ event: RecordedEvent) throws {
        events += 1
        while cutIndex < cuts.count && event.position > cuts[cutIndex].facts.lastPosition { cutIndex += 1 }
        if cutIndex < cuts.count && event.position >= cuts[cutIndex].facts.firstPosition {
            countsPerCut[cutIndex] += 1
        } else if outside.count < 3 {
            outside.append(event.position)
        }
        line.removeAll(keepingCapacity: true)
        encoder.encode(
            position: event.position, stream: event.stream, version: event.version, id: event.id, type: event.type,
            recordedAtNanos: event.recordedAtNanos, data: event.data, metadata: event.metadata, into: &line)
        try line.withUnsafeBytes { bytes in
            let fields = try RecordDecoder.decode(bytes)
            let data = UnsafeRawBufferPointer(rebasing: bytes[fields.data])
            // As the replay does without subject keys: encrypted data is folded as "unavailable".
            if SubjectCipher.isEnvelope(data) {
                var opened = try SubjectCipher.open(data, keys: [:], id: event.id, position: event.position)
                try opened.withUTF8 { try fold.apply(ReplayEvent(line: bytes, fields: fields, data: .init($0))) }
            } else {
                try fold.apply(ReplayEvent(line: bytes, fields: fields, data: data))
            }
        }
    }

    /// Compares what was counted and re-hashed with the manifests; one line per difference.
    func factDifferences() -> [String] {
        var found: [String] = []
        var previous: CutPoint? = nil
        for (index, cut) in cuts.enumerated() {
            let facts = cut.facts
            if countsPerCut[index] != facts.eventCount {
                found.append(
                    "snapshot \(cut.snapshotID) lists \(facts.eventCount) events at positions \(facts.firstPosition)…"
                        + "\(facts.lastPosition), but \(countsPerCut[index]) were restored")
            }
            let expectedStart = previous?.facts.chainHead ?? .genesis
            if facts.chainStart != expectedStart {
                found.append(
                    "snapshot \(cut.snapshotID) starts its chain at \(facts.chainStart.hex.prefix(16))…, not where "
                        + (previous.map { "snapshot \($0.snapshotID) ends" } ?? "an archive begins")
                        + ": a hole or an insertion between snapshots")
            }
            previous = cut
        }
        for position in outside {
            found.append("restored event at position \(position) lies outside every snapshot's position range")
        }
        if let last = cuts.last, encoder.chain != last.facts.chainHead {
            found.append(
                "the restored events re-hash to chain head \(encoder.chain.hex.prefix(16))…, but snapshot "
                    + "\(last.snapshotID) records \(last.facts.chainHead.hex.prefix(16))…")
        }
        return found
    }
}
