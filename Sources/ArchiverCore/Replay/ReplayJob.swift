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
public struct ReplayJob: Sendable {
    /// What a run produced, and where it started from.
    public struct Outcome: Sendable {
        public var stats: ReplayStats
        public var rows: [ProjectedRow]
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

    public init(replayer: Replayer, projection: ProjectionSpec) {
        self.replayer = replayer
        self.projection = projection
    }

    /// Replays `plan` into the projection.
    /// - Parameter progress: called now and then with the events applied so far and the seconds elapsed.
    /// - Throws: ``ArchiverError`` `.invalidArgument` for ``saveSnapshot`` with an `--exec` projection, and
    ///   whatever reading the archive or the projection throws.
    public func run(plan: ReadPlan, progress: ((Int64, Double) -> Void)? = nil) async throws -> Outcome {
        switch projection {
        case .fold:
            var fold = MergePatchFold()
            return try await project(&fold, plan: plan, progress: progress)
        case .sum(let field):
            var fold = FieldSumFold(field: field)
            return try await project(&fold, plan: plan, progress: progress)
        case .exec(let command):
            guard !saveSnapshot else {
                throw ArchiverError(
                    .invalidArgument,
                    "--save-snapshot works with the built-in projections only (fold, sum:FIELD), not --exec: "
                        + "drop --save-snapshot (an --exec projector keeps its own state)")
            }
            var projector = try UpcastingProjection(try ExecProjection(command: command), rules: upcasters)
            let stats = try await replayer.run(&projector, plan: plan, progress: progress)
            try projector.finish()
            return Outcome(stats: stats, rows: try projector.rows())
        }
    }

    /// Runs a projection whose state can be restored from and saved to aggregate snapshots.
    func project<P: Projection>(
        _ inner: inout P, plan: ReadPlan, progress: ((Int64, Double) -> Void)?
    ) async throws -> Outcome {
        var projection = try UpcastingProjection(inner, rules: upcasters)
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
        inner = projection.inner
        let rows = try projection.rows()
        var saved: AggregateSnapshotInfo?
        if saveSnapshot {
            if let existing = try await snapshots.existing(at: plan) {
                notes.append("aggregate snapshot \(existing.snapshotID) already holds this cut: not saved again")
            } else {
                saved = try await snapshots.save(rows, plan: plan)
            }
        }
        return Outcome(stats: stats, rows: rows, startedFrom: startedFrom, saved: saved, notes: notes)
    }
}
