import ArchiveFormat
import Basics
public import Coordination
import Crypto
import Foundation
import Lode

/// Moves committed events from the coordination store into the archive, exactly once.
///
/// One pass: take the flusher lease; finish any flush intent an earlier process left behind; then,
/// until the safe high-water mark is reached, build one snapshot at a time:
/// 1. read events after the cursor and encode them (hash chain) into per-partition segment files staged
///    on local disk (bounded memory);
/// 2. record the intent (snapshot id, position range, chain hashes) in the coordination store;
/// 3. publish the data objects create-only (an existing object is reused only if its content is identical);
/// 4. commit the Lode snapshot — the manifest is the commit and the cut point;
/// 5. advance the cursor and clear the intent in one fenced transaction.
/// Steps 3–5 of a snapshot run in a task of their own while the next snapshot is encoded (step 1, local files
/// only); the next intent (step 2) waits for them, so the durable steps keep their order.
/// A crash anywhere leaves a pending intent whose retry re-encodes the same range into the same keys.
///
/// ```swift
/// let flusher = Flusher(store: coordination, archive: archive, options: FlushOptions(producer: "lode-archiver"))
/// let summary = try await flusher.run()
/// ```
public struct Flusher: Sendable {
    public let store: any CoordinationStore
    public let archive: Archive
    public let options: FlushOptions
    public static let leaseName = "flusher"

    public init(store: any CoordinationStore, archive: Archive, options: FlushOptions) {
        self.store = store
        self.archive = archive
        self.options = options
    }

    /// Runs one flush pass.
    /// - Parameter progress: called after every snapshot and every few pages.
    /// - Throws: ``ArchiverError`` `.flushInProgress` if another flusher holds the lease; `.fenced` if the
    ///   lease was lost mid-flush; coordination and Lode errors as they come.
    public func run(progress: (@Sendable (FlushProgress) -> Void)? = nil) async throws -> FlushSummary {
        let started = ContinuousClock.now
        guard let lease = try await acquireLease() else {
            throw ArchiverError(
                .flushInProgress,
                "another flusher holds the flush lease; wait for it to finish (or for its lease to expire after "
                    + "\(Int(options.leaseTTLSeconds))s if it died)")
        }
        do {
            return try await LeaseHolder.releasing(
                Self.leaseName, in: store, holder: options.holder, release: !options.keepsLease
            ) {
                try await pass(holding: lease, started: started, progress: progress)
            }
        } catch var error as LodeError where error.code == .io {
            // A full disk or a permission fixed by the operator: nothing is lost, the pending intent is retried.
            error.message += ": the flush resumes where it stopped when re-run"
            throw error
        }
    }

    /// One flush pass under `lease`: a pending intent first, then new snapshots up to the safe mark.
    private func pass(
        holding lease: Lease, started: ContinuousClock.Instant, progress: (@Sendable (FlushProgress) -> Void)?
    ) async throws -> FlushSummary {
        let pending = try await store.pendingFlushIntent()
        let (notes, format) = try await preflight(pending: pending)
        // Read once per pass: on PostgreSQL a read waits (up to highWaterMarkWaitSeconds) while an append
        // transaction below newer commits is open.
        let highWaterMark = try await store.safeHighWaterMark()
        // The backlog by positions, for progress: the store's full status counts every event (a scan of the
        // whole table on PostgreSQL, 0.14 s at 1M events, before the first page could be read).
        let backlog = max(0, highWaterMark - (try await store.flushCursor().position))
        var ledger = PassLedger { events in
            progress?(FlushProgress(events: events, backlog: backlog, seconds: Self.seconds(since: started)))
        }
        ledger.summary.notes = notes
        if let pending {
            let intent = pending.fencingToken == lease.fencingToken ? pending : try await adopt(pending, lease: lease)
            let batch = try await encode(retrying: intent, format: format)
            try await publishAndComplete(batch, intent: intent, summary: &ledger.summary, catalog: &ledger.catalog)
            ledger.summary.resumedIntent = true
            ledger.report(ledger.summary.events)
        }
        try await flushNewSnapshots(holding: lease, upTo: highWaterMark, format: format, ledger: &ledger)

        var summary = ledger.summary
        summary.lastPosition = try await store.flushCursor().position
        if summary.events == 0 { summary.heldBack = try await heldBack(after: summary.lastPosition) }
        // A named cut on an idle store names the existing head, so `cut create` always yields a cut point.
        if let name = options.cutName, summary.cutName == nil {
            throw ArchiverError(
                .nothingToFlush,
                summary.heldBack > 0
                    ? "nothing flushed, so no new snapshot can carry the cut point name '\(name)': \(summary.heldBackReason)"
                    : "nothing to flush, so no new snapshot can carry the cut point name '\(name)'; append events first"
            )
        }
        summary.seconds = Self.seconds(since: started)
        return summary
    }

    /// Encodes and publishes snapshots from the cursor up to the pass's safe high-water mark (or `maxSnapshots`).
    ///
    /// Snapshot N is published, committed and completed by a task of its own while N+1 is encoded (from the
    /// cursor N's completion will leave): its fsyncs and round trips overlap the encoding, which needs the CPU.
    /// N+1's intent is recorded only once N completed, so the durable steps keep their order.
    private func flushNewSnapshots(
        holding lease: Lease, upTo highWaterMark: Int64, format: RecordFormat, ledger: inout PassLedger
    ) async throws {
        // Pages read ahead, carried from one snapshot of the pass to the next.
        var prefetch: PagePrefetch?
        defer { prefetch?.cancel() }
        var cursor = try await store.flushCursor()
        let report = ledger.report
        do {
            while options.maxSnapshots.map({ ledger.snapshotsStarted < $0 }) ?? true, cursor.position < highWaterMark {
                // A cancelled pass (serve's shutdown deadline) stops between snapshots: what is committed stays.
                try Task.checkCancellation()
                _ = try await renew(lease)
                let done = ledger.eventsStarted
                guard
                    let batch = try await encodeNext(
                        after: cursor, upTo: highWaterMark, snapshotID: SnapshotIDs.next(after: cursor.snapshotID),
                        fencingToken: lease.fencingToken, format: format, prefetch: &prefetch,
                        progress: { report(done + $0) })
                else { break }
                do {
                    try await ledger.awaitPublication()
                } catch {
                    batch.removeStagedFiles()
                    throw error
                }
                try await store.recordFlushIntent(batch.intent)
                CrashPoints.hit(.afterIntent)
                ledger.publishing = (startPublication(batch, catalog: ledger.catalog), batch.intent.eventCount)
                cursor = FlushCursor(
                    position: batch.intent.lastPosition, chainHead: batch.intent.chainHead,
                    snapshotID: batch.intent.snapshotID, archivedCount: cursor.archivedCount + batch.intent.eventCount)
            }
            try await ledger.awaitPublication()
        } catch {
            // Never leave a publication running past the pass: the lease is released next.
            _ = try? await ledger.publishing?.task.value
            throw error
        }
    }

    /// For a pass that archived nothing: the committed events above `cursor` that wait for the safe mark, or 0.
    /// Events that arrived during the pass are told apart by a second read of the mark (they moved it); the read
    /// is made only when unflushed events exist, as it may wait.
    private func heldBack(after cursor: Int64) async throws -> Int64 {
        let unflushed = try await store.flushLag().unflushedCount
        guard unflushed > 0, try await store.safeHighWaterMark() <= cursor else { return 0 }
        return unflushed
    }

    /// Publishes, commits and completes `batch` in a task of its own; returns what it added to the pass.
    private func startPublication(
        _ batch: StagedSnapshot, catalog: CatalogProgress
    ) -> Task<(FlushSummary, CatalogProgress), any Error> {
        Task { [self] in
            var part = FlushSummary()
            var catalog = catalog
            try await publishAndComplete(batch, intent: batch.intent, summary: &part, catalog: &catalog)
            return (part, catalog)
        }
    }

    /// What a pass has done so far, and the snapshot being published in the background.
    struct PassLedger {
        var summary = FlushSummary()
        var catalog = CatalogProgress()
        var publishing: (task: Task<(FlushSummary, CatalogProgress), any Error>, events: Int64)?
        /// Reports progress as the events archived so far.
        let report: (Int64) -> Void

        init(report: @escaping (Int64) -> Void) {
            self.report = report
        }

        var snapshotsStarted: Int { summary.snapshotIDs.count + (publishing == nil ? 0 : 1) }
        var eventsStarted: Int64 { summary.events + (publishing?.events ?? 0) }

        /// Waits for the snapshot being published, if any, and adds it to the summary.
        mutating func awaitPublication() async throws {
            guard let running = publishing else { return }
            publishing = nil
            (summary, catalog) = try await Flusher.merged(summary, running.task.value)
            report(summary.events)
        }
    }

    /// `summary` followed by what one snapshot's publication added (`part`), and the catalog progress after it.
    static func merged(
        _ summary: FlushSummary, _ part: (FlushSummary, CatalogProgress)
    ) -> (FlushSummary, CatalogProgress) {
        var merged = summary
        let (added, catalog) = part
        merged.events += added.events
        merged.snapshotIDs += added.snapshotIDs
        merged.files += added.files
        merged.bytesIn += added.bytesIn
        merged.bytesOut += added.bytesOut
        merged.cutName = added.cutName ?? merged.cutName
        merged.checkpoints += added.checkpoints
        merged.notes += added.notes
        return (merged, catalog)
    }

    static func seconds(since start: ContinuousClock.Instant) -> Double {
        (ContinuousClock.now - start).inSeconds
    }
}
