import ArchiveFormat
public import Coordination
import Foundation
import Lode

/// Makes an empty scratch coordination store in `directory` (a temporary folder the drill removes afterwards).
public typealias ScratchStoreFactory = @Sendable (_ directory: String) async throws -> any CoordinationStore

/// A restore drill: restores a cut of the archive into a scratch store, replays it, compares the result with the
/// live store and with the archive's own facts, and records a signed attestation in the archive's `drills`
/// dataset.
///
/// What is compared: the live store's flush cursor with the archive's cuts; every event above the live store's
/// pruned position, field by field and as a digest; stream heads; per snapshot, the restored event counts,
/// positions and chain links against the manifests; the chain head the restored events re-hash to; and the
/// merge-patch fold of the archive replay against the restored store's events folded on a separate path.
///
/// ```swift
/// let runner = DrillRunner(archive: archive, live: store, producer: "lode-archiver 0.1.0") { dir in
///     try await SQLiteCoordinationStore(path: dir + "/scratch.db")
/// }
/// let attestation = try await runner.run(.cut(.latest))
/// print(attestation.passed)
/// ```
public struct DrillRunner: Sendable {
    public enum Target: Sendable {
        case cut(CutSelector)
        /// One of the archive's cuts, picked at random.
        case random
    }

    public let archive: Archive
    public let live: any CoordinationStore
    public let producer: String
    public let scratchStore: ScratchStoreFactory

    public init(
        archive: Archive, live: any CoordinationStore, producer: String,
        scratchStore: @escaping ScratchStoreFactory
    ) {
        self.archive = archive
        self.live = live
        self.producer = producer
        self.scratchStore = scratchStore
    }

    /// Runs the drill and records its attestation (signed with the archive's signer when it has one).
    /// - Returns: the recorded attestation; a failed drill is a result, not an error.
    /// - Throws: ``ArchiverError`` `.emptyArchive` or `.unknownCut` when there is nothing to drill; errors
    ///   writing the attestation.
    public func run(_ target: Target) async throws -> DrillAttestation {
        let started = ContinuousClock.now
        let startedAt = ArchiveTime.rfc3339Micros(Int64(Date().timeIntervalSince1970 * 1e9))
        var attestation: DrillAttestation
        do {
            let chain = try Archive.cutPoints(try await archive.events.history())
            let cuts = try select(target, in: chain)
            attestation = try await drill(cuts: cuts, head: chain.last!)
            if let pointer = try await pointerDifference() { attestation.differences.insert(pointer, at: 0) }
        } catch let error as ArchiverError where error.code == .emptyArchive || error.code == .unknownCut {
            throw error
        } catch is CancellationError {
            throw CancellationError()
        } catch {
            attestation = DrillAttestation.failed(
                "the archive's snapshot chain cannot be read: \(Self.message(of: error))")
        }
        attestation.startedAt = startedAt
        attestation.durationMilliseconds = Int64(Flusher.seconds(since: started) * 1_000)
        attestation.binaryVersion = producer
        attestation.result = attestation.differences.isEmpty ? .pass : .fail
        try attestation.sign(with: archive.signer)
        try await DrillLog(archive: archive).record(attestation)
        return attestation
    }

    /// The `latest` pointer naming a snapshot behind the chain's head: readers that trust it would miss the
    /// snapshots after it, so a drill that restored through the real head still fails, as `verify` does.
    func pointerDifference() async throws -> String? {
        let resolution = try await archive.events.resolveHead()
        return resolution.pointerBehindDescription.map { $0 + "; run `archiver verify --repair`" }
    }

    /// The cuts from the first through the drilled one. A position or time selects the last cut ending at or
    /// before it (a restore needs a whole snapshot).
    func select(_ target: Target, in chain: [CutPoint]) throws -> [CutPoint] {
        guard !chain.isEmpty else {
            throw ArchiverError(
                .emptyArchive, "the archive has no snapshots yet: run `archiver flush` to archive events first")
        }
        switch target {
        case .random:
            return Array(chain[...Int.random(in: chain.indices)])
        case .cut(let selector):
            let plan = try archive.plan(to: selector, in: chain)
            var cuts = Array(chain.prefix(plan.count))
            if let max = plan.maxPosition { cuts = cuts.filter { $0.facts.lastPosition <= max } }
            if let max = plan.maxRecordedAt { cuts = cuts.filter { $0.facts.maxRecordedAtNanos <= max } }
            guard !cuts.isEmpty else {
                throw ArchiverError(
                    .unknownCut, "no committed snapshot ends at or before \(selector): nothing to drill")
            }
            return cuts
        }
    }

    /// Restores `cuts` into a scratch store and compares; every problem becomes a difference.
    func drill(cuts: [CutPoint], head: CutPoint) async throws -> DrillAttestation {
        let cut = cuts.last!
        var attestation = DrillAttestation.failed(nil)
        attestation.cutSnapshotID = cut.snapshotID
        attestation.cutName = cut.name
        attestation.lastPosition = cut.facts.lastPosition
        let directory = FileManager.default.temporaryDirectory
            .appendingPathComponent("archiver-drill-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let scratch = try await scratchStore(directory)
        do {
            try await scratch.migrate()
            try await compare(cuts: cuts, head: head, scratch: scratch, into: &attestation)
        } catch is CancellationError {
            await scratch.close()
            throw CancellationError()
        } catch {
            attestation.differences.append(Self.message(of: error))
        }
        await scratch.close()
        return attestation
    }

    func compare(
        cuts: [CutPoint], head: CutPoint, scratch: any CoordinationStore, into attestation: inout DrillAttestation
    ) async throws {
        var plan = ReadPlan(
            cuts: cuts, maxPosition: nil, maxRecordedAt: nil, selector: .snapshot(cuts.last!.snapshotID))
        plan.generation = try await archive.activeGeneration()
        let restored: Restorer.Summary
        do {
            restored = try await Restorer(archive: archive, target: scratch).run(plan: plan)
        } catch {
            attestation.differences.append("restore failed: \(Self.message(of: error))")
            return
        }
        attestation.restoredEvents = restored.events
        attestation.restoredStreams = Int64(restored.streams)
        var fold = MergePatchFold()
        _ = try await Replayer(archive: archive, verifyChain: true).run(&fold, plan: plan)
        let replayRows = try fold.rows()
        var check = RestoredArchiveCheck(cuts: cuts)
        var pager = EventPager(store: scratch, after: 0, through: Int64.max)
        while let event = try await pager.next() { try check.add(event) }
        let refoldRows = try check.fold.rows()
        attestation.chainHead = check.encoder.chain.hex
        attestation.replayDigest = EventDigest.rows(replayRows)
        attestation.refoldDigest = EventDigest.rows(refoldRows)
        attestation.differences += check.factDifferences()
        if attestation.replayDigest != attestation.refoldDigest {
            attestation.differences.append(Self.foldDifference(replayRows, refoldRows))
        }
        let live = try await LiveStoreComparison(
            archive: archive, live: live, restored: scratch, cut: cuts.last!, head: head
        ).run()
        attestation.prunedThrough = live.prunedThrough
        attestation.liveEventsCompared = live.eventsCompared
        attestation.headsCompared = live.headsCompared
        attestation.restoredEventsDigest = live.restoredDigest
        attestation.liveEventsDigest = live.liveDigest
        attestation.differences += live.differences
    }

    /// Names the first stream whose folded state differs between the archive replay and the restored store.
    static func foldDifference(_ replay: [ProjectedRow], _ refold: [ProjectedRow]) -> String {
        let a = Dictionary(replay.map { ($0.key, $0.json) }, uniquingKeysWith: { x, _ in x })
        let b = Dictionary(refold.map { ($0.key, $0.json) }, uniquingKeysWith: { x, _ in x })
        let stream = Set(a.keys).union(b.keys).sorted().first { a[$0] != b[$0] } ?? "?"
        return "the archive replay and the restored store fold to different states (\(replay.count) and "
            + "\(refold.count) streams; first difference: stream \(stream))"
    }

    static func message(of error: any Error) -> String {
        switch error {
        case let e as ArchiverError: e.message
        case let e as LodeError: e.message
        case let e as ArchiveFormatError: e.message
        case let e as CoordinationError: e.message
        default: "\(error)"
        }
    }
}

extension DrillAttestation {
    /// An attestation of a drill that found `difference` before comparing anything.
    static func failed(_ difference: String?) -> DrillAttestation {
        DrillAttestation(
            cutSnapshotID: "", cutName: nil, lastPosition: 0, chainHead: "", restoredEvents: 0, restoredStreams: 0,
            liveEventsCompared: 0, headsCompared: 0, prunedThrough: 0, restoredEventsDigest: "", liveEventsDigest: "",
            replayDigest: "", refoldDigest: "", startedAt: "", durationMilliseconds: 0, binaryVersion: "",
            result: .fail, differences: difference.map { [$0] } ?? [])
    }
}
