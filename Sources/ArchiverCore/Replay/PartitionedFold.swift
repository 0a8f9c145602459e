/// A built-in fold whose rows can be made from parts that each hold other streams.
protocol PartitionableFold: Projection, SendableMetatype {
    /// The rows of every part, in one sequence in stream order (no stream is in two parts).
    static func rowStream(merging parts: [Self]) -> RowStream
}

/// A built-in fold, upcasters applied, split by stream (``StreamPartition``) over `workers` threads: events are
/// copied into batches as the reader delivers them, and each part applies its streams' events of a batch in
/// position order while the next batch is filled. Per-stream state is independent, so the rows are those of
/// one fold over every event.
///
/// With one worker the events go straight to the fold, as ``Replayer`` delivers them.
struct PartitionedFold<Fold: PartitionableFold>: Projection {
    let identity: ProjectionIdentity
    private var sequential: UpcastingProjection<Fold>?
    private let workers: FoldWorkers<UpcastingProjection<Fold>>?
    private var filling: EventBatch?

    /// - Parameters:
    ///   - workers: how many parts; upcasting with an `--upcast-exec` child runs on one (one child sees every
    ///     event in order).
    ///   - batchEvents: events handed to the workers at a time.
    init(_ fold: Fold, rules: UpcastRuleSet, workers: Int, batchEvents: Int = 8192) throws {
        identity = fold.identity
        guard workers > 1, rules.exec == nil else {
            sequential = try UpcastingProjection(fold, rules: rules)
            self.workers = nil
            return
        }
        let parts = try (0..<workers).map { _ in try UpcastingProjection(fold, rules: rules) }
        let identity = fold.identity
        self.workers = FoldWorkers(parts) { error, event in
            Replayer.projectionFailure(error, identity: identity, event: event)
        }
        filling = EventBatch(workers: workers, eventLimit: batchEvents)
    }

    /// The folds of the parts (one without workers).
    var parts: [Fold] {
        if let sequential { return [sequential.inner] }
        guard let workers else { return [] }
        return (0..<workers.count).map { workers[$0].inner }
    }

    mutating func apply(_ event: ReplayEvent) throws {
        guard let filling else { return try sequential!.apply(event) }
        filling.append(event)
        if filling.isFull { try handOver() }
    }

    /// Starts the workers on the filled batch, and fills the one they return (a new one the first time).
    private mutating func handOver() throws {
        guard let workers, let full = filling else { return }
        let next = try workers.wait() ?? EventBatch(workers: workers.count, eventLimit: full.eventLimit)
        workers.start(full)
        filling = next
    }

    /// Applies the events still in batches and finishes the parts; call once after the last event.
    mutating func finish() throws {
        guard let workers else { return try sequential!.finish() }
        if filling?.isEmpty == false { try handOver() }
        _ = try workers.wait()
        for worker in 0..<workers.count { try workers[worker].finish() }
    }

    func rows() throws -> [ProjectedRow] { try rowStream.collect() }

    var rowStream: RowStream { Fold.rowStream(merging: parts) }

    /// Restores each part from the rows of its streams.
    mutating func restore(rows: [ProjectedRow]) throws {
        guard let workers else { return try sequential!.restore(rows: rows) }
        var split = [[ProjectedRow]](repeating: [], count: workers.count)
        for row in rows { split[StreamPartition.worker(ofRow: row.json, among: workers.count)].append(row) }
        for worker in 0..<workers.count { try workers[worker].restore(rows: split[worker]) }
    }
}
