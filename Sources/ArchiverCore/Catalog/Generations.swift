public import ArchiveFormat
import Foundation
import Lode

/// Which original snapshots of the events dataset a generation snapshot replaces: its provenance.
///
/// Stored in the generation snapshot's manifest metadata (`archiver.replaces_*`, `archiver.generation`), next to
/// the usual archive facts, so a generation snapshot reads like the cut point of its last original snapshot.
public struct GenerationRun: Sendable, Hashable {
    public var generation: Int
    public var firstSnapshotID: String
    public var lastSnapshotID: String
    /// Chain sequence numbers (1-based) of the first and last original snapshot replaced.
    public var firstSequence: Int64
    public var lastSequence: Int64

    enum Key {
        static let generation = "archiver.generation"
        static let firstSnapshot = "archiver.replaces_first_snapshot"
        static let lastSnapshot = "archiver.replaces_last_snapshot"
        static let firstSequence = "archiver.replaces_first_sequence"
        static let lastSequence = "archiver.replaces_last_sequence"
    }

    var entries: [String: String] {
        [
            Key.generation: String(generation), Key.firstSnapshot: firstSnapshotID, Key.lastSnapshot: lastSnapshotID,
            Key.firstSequence: String(firstSequence), Key.lastSequence: String(lastSequence),
        ]
    }

    /// Reads the provenance back; nil when a key is missing or malformed.
    init?(entries m: [String: String]) {
        guard let generation = m[Key.generation].flatMap(Int.init), let first = m[Key.firstSnapshot],
            let last = m[Key.lastSnapshot], let firstSequence = m[Key.firstSequence].flatMap(Int64.init),
            let lastSequence = m[Key.lastSequence].flatMap(Int64.init), firstSequence >= 1,
            lastSequence >= firstSequence
        else { return nil }
        self.init(
            generation: generation, firstSnapshotID: first, lastSnapshotID: last, firstSequence: firstSequence,
            lastSequence: lastSequence)
    }

    init(generation: Int, firstSnapshotID: String, lastSnapshotID: String, firstSequence: Int64, lastSequence: Int64) {
        self.generation = generation
        self.firstSnapshotID = firstSnapshotID
        self.lastSnapshotID = lastSnapshotID
        self.firstSequence = firstSequence
        self.lastSequence = lastSequence
    }

    /// e.g. `sequences 1…250`.
    var sequenceRange: String { "sequences \(firstSequence)…\(lastSequence)" }

    /// The chain hash the run starts from: genesis, or the chain head of the original snapshot before it
    /// (`originals[i]` has sequence i+1).
    func chainStart(in originals: [CutPoint]) -> ChainHash {
        firstSequence == 1 ? .genesis : originals[Int(firstSequence) - 2].facts.chainHead
    }
}

/// The compacted generation readers use: a dataset `events-gen<N>` whose snapshots (runs) replace the data of
/// the original snapshots with sequences 1…``throughSequence``. The original manifests stay as they are.
public struct ActiveGeneration: Sendable {
    public var number: Int
    public var datasetID: String
    public var headSnapshotID: String
    /// The last original snapshot covered, its sequence, last position and chain head.
    public var throughSnapshotID: String
    public var throughSequence: Int64
    public var throughPosition: Int64
    public var chainHead: ChainHash
    /// The `generations` snapshot that activated it (the compare-and-swap's expected parent for the next one).
    public var activationID: String
    /// The generation's snapshots, oldest first; each has ``CutPoint/run`` set.
    public var runs: [CutPoint]
    /// The record format its snapshots are written in.
    public var format: RecordFormat { runs.last?.facts.format ?? .v1 }

    enum Key {
        static let generation = "archiver.generation"
        static let dataset = "archiver.generation_dataset"
        static let head = "archiver.generation_head"
        static let through = "archiver.through_snapshot"
        static let throughSequence = "archiver.through_sequence"
        static let throughPosition = "archiver.through_position"
        static let chainHead = "archiver.chain_head"
        static let runs = "archiver.runs"
    }

    /// The activation's manifest metadata.
    var entries: [String: String] {
        [
            Key.generation: String(number), Key.dataset: datasetID, Key.head: headSnapshotID,
            Key.through: throughSnapshotID, Key.throughSequence: String(throughSequence),
            Key.throughPosition: String(throughPosition), Key.chainHead: chainHead.hex, Key.runs: String(runs.count),
        ]
    }

    /// `cuts` with every original snapshot the generation covers replaced by the run holding it (each run once,
    /// in order). Original snapshots after the generation, and runs, pass through.
    public func substitute(_ cuts: [CutPoint]) -> [CutPoint] {
        var substitution = Substitution(self)
        return cuts.compactMap { substitution.unit(for: $0) }
    }

    /// The run holding original snapshot `cut`, or nil when the generation does not cover it.
    func run(holding cut: CutPoint) -> CutPoint? {
        var substitution = Substitution(self)
        guard let unit = substitution.unit(for: cut), unit.run != nil, cut.run == nil else { return nil }
        return unit
    }

    /// ``substitute(_:)`` one snapshot at a time, for snapshots that arrive in chain order.
    struct Substitution: Sendable {
        let generation: ActiveGeneration
        private var runIndex = 0
        private var lastRun = -1

        init(_ generation: ActiveGeneration) {
            self.generation = generation
        }

        /// What to read for `cut`: the run holding it (nil when that run was already returned), or `cut` itself.
        mutating func unit(for cut: CutPoint) -> CutPoint? {
            let runs = generation.runs
            let position = cut.facts.lastPosition
            guard cut.run == nil, position <= generation.throughPosition else { return cut }
            // Positions rise along the chain, so the runs are searched forward (restarting for unsorted input).
            if runIndex < runs.count, runs[runIndex].facts.firstPosition > position { runIndex = 0 }
            while runIndex < runs.count && runs[runIndex].facts.lastPosition < position { runIndex += 1 }
            guard runIndex < runs.count, runs[runIndex].facts.firstPosition <= position else { return cut }
            guard runIndex != lastRun else { return nil }
            lastRun = runIndex
            return runs[runIndex]
        }
    }

    /// Problems of the generation's facts against the original snapshots (`originals[i]` has sequence i+1):
    /// runs contiguous from sequence 1 to ``throughSequence``, each starting its chain where the original before
    /// it ends and ending where its last original ends, with the same positions and event count. Together with a
    /// verified read of the runs (every record hash recomputed), this proves the bytes equal the originals'.
    /// Runs past the end of `originals` (a verify of an earlier cut) are not checked.
    public func problems(against originals: [CutPoint]) -> [VerificationProblem] {
        var problems: [VerificationProblem] = []
        let known = Int64(originals.count)
        var expected: Int64 = 1
        for cut in runs {
            guard let run = cut.run else { continue }
            let location = "generation \(number) snapshot \(cut.snapshotID) (\(run.sequenceRange))"
            func problem(_ message: String) {
                problems.append(VerificationProblem(kind: .tampered, location: location, message: message))
            }
            if run.generation != number { problem("it names generation \(run.generation), not \(number)") }
            if run.firstSequence != expected {
                problem("runs are not contiguous: sequence \(expected) was expected to come next")
            }
            expected = run.lastSequence + 1
            guard run.lastSequence <= known else { continue }
            let first = originals[Int(run.firstSequence) - 1]
            let last = originals[Int(run.lastSequence) - 1]
            let replaced = originals[Int(run.firstSequence - 1)..<Int(run.lastSequence)]
            let chainStart = run.chainStart(in: originals)
            let f = cut.facts
            if first.snapshotID != run.firstSnapshotID || last.snapshotID != run.lastSnapshotID {
                problem(
                    "it names original snapshots \(run.firstSnapshotID)…\(run.lastSnapshotID), but those sequences "
                        + "are \(first.snapshotID)…\(last.snapshotID)")
            }
            if f.chainStart != chainStart {
                problem(
                    "its chain starts at \(f.chainStart.hex.prefix(16))…, but the original chain before sequence "
                        + "\(run.firstSequence) ends at \(chainStart.hex.prefix(16))…")
            }
            if f.chainHead != last.facts.chainHead {
                problem(
                    "its chain ends at \(f.chainHead.hex.prefix(16))…, but original snapshot \(last.snapshotID) "
                        + "ends at \(last.facts.chainHead.hex.prefix(16))…")
            }
            let count = replaced.reduce(Int64(0)) { $0 + $1.facts.eventCount }
            if f.eventCount != count || f.firstPosition != first.facts.firstPosition
                || f.lastPosition != last.facts.lastPosition
            {
                problem(
                    "it holds \(f.eventCount) events at positions \(f.firstPosition)…\(f.lastPosition), but the "
                        + "originals hold \(count) at \(first.facts.firstPosition)…\(last.facts.lastPosition)")
            }
        }
        let location = "generation \(number) (\(datasetID))"
        if expected - 1 != throughSequence {
            problems.append(
                VerificationProblem(
                    kind: .tampered, location: location,
                    message: "its runs cover sequences 1…\(expected - 1), but its activation says 1…\(throughSequence)")
            )
        }
        if runs.last?.snapshotID != headSnapshotID {
            problems.append(
                VerificationProblem(
                    kind: .tampered, location: location,
                    message: "its last snapshot is \(runs.last?.snapshotID ?? "(none)"), but its activation names "
                        + "\(headSnapshotID)"))
        }
        if throughSequence <= known {
            let through = originals[Int(throughSequence) - 1]
            if through.snapshotID != throughSnapshotID || through.facts.chainHead != chainHead
                || through.facts.lastPosition != throughPosition
            {
                problems.append(
                    VerificationProblem(
                        kind: .tampered, location: location,
                        message: "its activation ends at snapshot \(throughSnapshotID) (position \(throughPosition)), "
                            + "but sequence \(throughSequence) is snapshot \(through.snapshotID) (position "
                            + "\(through.facts.lastPosition), another chain head)"))
            }
        }
        return problems
    }
}

extension ReadPlan {
    /// The position bound of the read: with an active generation whose run holding the plan's last original
    /// snapshot reaches past it, lowered to that snapshot's last position (a cut inside a run delivers exactly
    /// what the original snapshots would).
    var readingMaxPosition: Int64? {
        guard let generation, let last, let run = generation.run(holding: last),
            run.facts.lastPosition > last.facts.lastPosition
        else { return maxPosition }
        return min(maxPosition ?? .max, last.facts.lastPosition)
    }
}

extension Archive {
    /// The `generations` dataset: one snapshot per activation, whose metadata names the active generation.
    var generations: LodeDataset {
        get throws {
            let events = settings.datasetID
            return try LodeDataset(
                store: store, datasetID: events == "events" ? "generations" : "\(events)-generations",
                layout: .default, codec: .jsonl, compressor: .noop, checksum: .md5)
        }
    }

    /// The dataset ID of generation `number`: `events-gen<N>`.
    func generationDatasetID(_ number: Int) -> String { "\(settings.datasetID)-gen\(number)" }

    /// Generation `number`'s dataset: the events dataset's layout and components under another ID.
    func generationDataset(_ number: Int) throws -> LodeDataset {
        var configuration = Self.datasetConfig(for: settings)
        configuration.datasetID = generationDatasetID(number)
        return try LodeDataset(store: store, configuration: configuration)
    }

    /// The dataset holding a cut point's data files: its generation's for a run, else the events dataset.
    func dataset(of cut: CutPoint) throws -> LodeDataset {
        guard let run = cut.run else { return events }
        return try generationDataset(run.generation)
    }

    /// The generation number in a dataset ID `events-gen<N>`, or nil.
    func generationNumber(ofDataset id: some StringProtocol) -> Int? {
        let prefix = settings.datasetID + "-gen"
        guard id.hasPrefix(prefix), let n = Int(id.dropFirst(prefix.count)), n > 0 else { return nil }
        return n
    }

    /// Every object of every generation dataset (`events-gen<N>`), by generation number.
    func generationObjects() async throws -> [Int: [ObjectInfo]] {
        var out: [Int: [ObjectInfo]] = [:]
        for object in try await store.list(prefix: "datasets/\(settings.datasetID)-gen") {
            let parts = object.key.split(separator: "/", maxSplits: 2)
            guard parts.count == 3, let n = generationNumber(ofDataset: parts[1]) else { continue }
            out[n, default: []].append(object)
        }
        return out
    }

    /// The active compacted generation, or nil when the archive was never compacted.
    ///
    /// One read when there is none (the `generations` pointer is created by the first activation and never
    /// removed); otherwise the activation manifest and the generation's manifests.
    /// - Throws: ``ArchiverError`` `.unreadable` when the activation names a generation that cannot be read:
    ///   readers never fall back silently, because its original data files may have been retired.
    public func activeGeneration() async throws -> ActiveGeneration? {
        let generations = try self.generations
        guard let pointer = try await generations.latestPointer() else { return nil }
        // The pointer is swapped before the manifest is written: a pointer without a manifest is an activation
        // that did not complete, and the head (by scan) is the one in force.
        let activation: Manifest
        if let manifest = try? await generations.manifest(pointer) {
            activation = manifest
        } else if let head = try await generations.head() {
            activation = head
        } else {
            return nil
        }
        let m = activation.stringMetadata
        guard let number = m[ActiveGeneration.Key.generation].flatMap(Int.init),
            let datasetID = m[ActiveGeneration.Key.dataset], datasetID == generationDatasetID(number),
            let head = m[ActiveGeneration.Key.head], let through = m[ActiveGeneration.Key.through],
            let throughSequence = m[ActiveGeneration.Key.throughSequence].flatMap(Int64.init),
            let throughPosition = m[ActiveGeneration.Key.throughPosition].flatMap(Int64.init),
            let chainHead = m[ActiveGeneration.Key.chainHead].flatMap(ChainHash.init(hex:))
        else {
            throw ArchiverError(
                .unreadable,
                "the generation activation \(generations.manifestKey(snapshotID: activation.snapshotID)) is not "
                    + "readable by this archiver (missing or malformed archiver.generation* keys)")
        }
        let runs: [CutPoint]
        do {
            runs = try Self.cutPoints(try await generationDataset(number).history(upTo: head))
        } catch {
            throw ArchiverError(
                .unreadable,
                "the active generation \(number) (\(datasetID), head \(head)) cannot be read: "
                    + "\((error as? LodeError)?.message ?? (error as? ArchiverError)?.message ?? "\(error)")")
        }
        for cut in runs where cut.run == nil {
            throw ArchiverError(
                .unreadable, "snapshot \(cut.snapshotID) of \(datasetID) lacks its provenance (archiver.replaces_*)")
        }
        return ActiveGeneration(
            number: number, datasetID: datasetID, headSnapshotID: head, throughSnapshotID: through,
            throughSequence: throughSequence, throughPosition: throughPosition, chainHead: chainHead,
            activationID: activation.snapshotID, runs: runs)
    }
}
