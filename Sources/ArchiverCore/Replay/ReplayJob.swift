import Foundation

/// One replay as `archiver replay` runs it: the projection a ``ProjectionSpec`` names, started from the newest
/// compatible aggregate snapshot (unless ``fromScratch``), and its state saved as a new one when
/// ``saveSnapshot`` is set.
///
/// ```swift
/// let plan = try await archive.plan(to: .latest)
/// var job = ReplayJob(replayer: Replayer(archive: archive), projection: .sum(field: "amount"))
/// job.saveSnapshot = true
/// let outcome = try await job.run(plan: plan)
/// try JSONLinesSink(path: nil).write(outcome.rows)
/// ```
///
/// ``run(plan:into:progress:)`` writes the rows to a sink as they are made instead (what `archiver replay` does:
/// a million rows are never all in memory).
public struct ReplayJob: Sendable {
    /// What a run produced, and where it started from.
    public struct Outcome: Sendable {
        public var stats: ReplayStats
        /// Empty when the rows went to a sink (``run(plan:into:progress:)``).
        public var rows: [ProjectedRow]
        /// How many rows the run produced.
        public var rowCount = 0
        /// The aggregate snapshot the run started from, if any.
        public var startedFrom: AggregateSnapshotInfo?
        /// The aggregate snapshot the run saved, with ``saveSnapshot``.
        public var saved: AggregateSnapshotInfo?
        /// Why aggregate snapshots were passed over.
        public var notes: [String] = []
    }

    public var replayer: Replayer
    public var projection: ProjectionSpec
    /// Ignore aggregate snapshots: apply every event from the start.
    public var fromScratch = false
    /// Save the state at the cut as an aggregate snapshot (built-in projections only).
    public var saveSnapshot = false
    /// Upcasters applied to every event before the projection sees it (docs/REPLAY.md "Upcasting").
    public var upcasters = UpcastRuleSet()
    /// Threads a built-in fold is split over by stream; the rows do not depend on it. Default (nil): the active
    /// cores for the merge-patch fold, one for the sum fold, whose work per event costs less than handing the
    /// event to another core (measured: split over 2 cores it ran at 0.7x).
    public var foldWorkers: Int?

    public init(replayer: Replayer, projection: ProjectionSpec) {
        self.replayer = replayer
        self.projection = projection
    }

    /// Replays `plan` into the projection.
    /// - Parameter progress: called now and then with the events applied so far and the seconds elapsed.
    /// - Throws: ``ArchiverError`` `.invalidArgument` for ``saveSnapshot`` with an `--exec` projection, and
    ///   whatever reading the archive or the projection throws.
    public func run(plan: ReadPlan, progress: ((Int64, Double) -> Void)? = nil) async throws -> Outcome {
        var (outcome, stream) = try await replay(plan: plan, progress: progress)
        if outcome.rows.isEmpty { outcome.rows = try stream.collect() }
        outcome.rowCount = outcome.rows.count
        return outcome
    }

    /// ``run(plan:progress:)``, writing the rows to `sink` as they are made (built first only when
    /// ``saveSnapshot`` also stores them).
    public func run(
        plan: ReadPlan, into sink: any RowSink, progress: ((Int64, Double) -> Void)? = nil
    ) async throws -> Outcome {
        var (outcome, stream) = try await replay(plan: plan, progress: progress)
        if !outcome.rows.isEmpty {
            try sink.write(outcome.rows)
            outcome.rowCount = outcome.rows.count
            outcome.rows = []
            return outcome
        }
        var count = 0
        try sink.write(
            RowStream { body in
                try stream.forEach { key, json in
                    count += 1
                    try body(key, json)
                }
            })
        outcome.rowCount = count
        return outcome
    }

    /// The replay, and its rows as a stream (or built, in the outcome, when a snapshot was saved from them).
    private func replay(
        plan: ReadPlan, progress: ((Int64, Double) -> Void)?
    ) async throws -> (Outcome, RowStream) {
        switch projection {
        case .fold:
            let workers = foldWorkers ?? ProcessInfo.processInfo.activeProcessorCount
            return try await project(MergePatchFold(), workers: workers, plan: plan, progress: progress)
        case .sum(let field):
            return try await project(
                FieldSumFold(field: field), workers: foldWorkers ?? 1, plan: plan, progress: progress)
        case .exec(let command):
            guard !saveSnapshot else {
                throw ArchiverError(
                    .invalidArgument,
                    "--save-snapshot works with the built-in projections only (fold, sum:FIELD), not --exec: "
                        + "drop --save-snapshot (an --exec projector keeps its own state)")
            }
            let exec = try ExecProjection(command: command)
            var projector = try UpcastingProjection(exec, rules: upcasters)
            let stats = try await replayer.run(&projector, plan: plan, progress: progress)
            try projector.finish()
            return (Outcome(stats: stats, rows: []), exec.rowStream)
        }
    }

    /// Runs a projection whose state can be restored from and saved to aggregate snapshots.
    func project<P: PartitionableFold>(
        _ fold: P, workers: Int, plan: ReadPlan, progress: ((Int64, Double) -> Void)?
    ) async throws -> (Outcome, RowStream) {
        var projection = try PartitionedFold(fold, rules: upcasters, workers: max(1, workers))
        var snapshots = try AggregateSnapshots(
            archive: replayer.archive, identity: projection.identity, filter: replayer.filter)
        snapshots.upcasters = upcasters.identity
        var startedFrom: AggregateSnapshotInfo?
        var notes: [String] = []
        if !fromScratch {
            let search = try await snapshots.search(for: plan)
            notes = search.notes
            if let found = search.found {
                try projection.restore(rows: found.rows)
                startedFrom = found.info
            }
        }
        let stats = try await replayer.run(
            &projection, plan: plan, after: startedFrom?.lastPosition ?? 0, progress: progress)
        try projection.finish()
        var outcome = Outcome(stats: stats, rows: [], startedFrom: startedFrom, notes: notes)
        guard saveSnapshot else { return (outcome, projection.rowStream) }
        outcome.rows = try projection.rows()
        if let existing = try await snapshots.existing(at: plan) {
            outcome.notes.append("aggregate snapshot \(existing.snapshotID) already holds this cut: not saved again")
        } else {
            outcome.saved = try await snapshots.save(outcome.rows, plan: plan)
        }
        return (outcome, RowStream(outcome.rows))
    }
}
