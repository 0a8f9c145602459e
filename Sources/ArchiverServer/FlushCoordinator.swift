public import ArchiverCore
public import Coordination
import CoreMetrics
public import Foundation
public import Logging

/// Runs flush passes for the sidecar one at a time (scheduled passes and `POST /flush` never overlap in one
/// process) and keeps what `/ready` and `/metrics` report about them.
///
/// Across processes the flush lease decides: the replica whose pass holds the lease flushes and keeps it
/// (``FlushOptions/keepsLease``), renewing it every pass; the others get ``ArchiverError`` `.flushInProgress`
/// and stay on standby until the holder stops renewing (its lease expires after `lease-ttl`, or at once when
/// the holder is a dead process on this host).
public actor FlushCoordinator {
    public struct State: Sendable {
        /// True after a pass that held the lease; false after one that found another holder.
        public var holdsLease = false
        public var lastPass: Date?
        /// The last pass's failure (not "another replica holds the lease"), cleared by a good pass.
        public var lastError: String?
        public var lastSummary: FlushSummary?
    }

    let store: any CoordinationStore
    let archive: Archive
    let options: FlushOptions
    let metrics: ServerMetrics
    let logger: Logger
    public private(set) var state = State()
    private var running = false
    private var waiters: [CheckedContinuation<Void, Never>] = []

    public init(
        store: any CoordinationStore, archive: Archive, options: FlushOptions, metrics: ServerMetrics, logger: Logger
    ) {
        self.store = store
        self.archive = archive
        var options = options
        options.keepsLease = true
        self.options = options
        self.metrics = metrics
        self.logger = logger
    }

    public var holder: String { options.holder }

    /// Runs one pass, after any pass already running in this process.
    /// - Throws: ``ArchiverError`` `.flushInProgress` when another replica holds the lease, and whatever the
    ///   pass throws.
    public func flush(cutName: String? = nil) async throws -> FlushSummary {
        await takeTurn()
        defer { endTurn() }
        var options = self.options
        options.cutName = cutName
        let flusher = Flusher(store: store, archive: archive, options: options)
        state.lastPass = Date()
        do {
            let summary = try await flusher.run()
            state.holdsLease = true
            state.lastError = nil
            state.lastSummary = summary
            metrics.flushLeader.set(1)
            metrics.flushPass("ok")
            metrics.recordFlush(summary)
            if summary.events > 0 {
                logger.info(
                    "flushed events",
                    metadata: [
                        "events": "\(summary.events)", "snapshots": "\(summary.snapshotIDs.count)",
                        "position": "\(summary.lastPosition)",
                    ])
            }
            return summary
        } catch let error as ArchiverError where error.code == .flushInProgress {
            if state.holdsLease { logger.notice("another replica holds the flush lease; standing by") }
            state.holdsLease = false
            metrics.flushLeader.set(0)
            metrics.flushPass("standby")
            throw error
        } catch let error as ArchiverError where error.code == .nothingToFlush {
            // A named cut with nothing new to flush: the caller's mistake, not a failing archive.
            throw error
        } catch {
            state.lastError = Self.describe(error)
            metrics.flushPass("error")
            metrics.error(Self.kind(of: error))
            logger.error("flush failed", metadata: ["error": "\(state.lastError ?? "")"])
            throw error
        }
    }

    /// Waits until no pass (or lease release) runs, then marks this caller's turn as running. Checked and queued
    /// in one step, in the continuation's body, so a turn that ends in between cannot leave this caller queued with
    /// nobody to wake it; a woken caller checks again, as another may have taken the turn first.
    private func takeTurn() async {
        while running {
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                if running { waiters.append(continuation) } else { continuation.resume() }
            }
        }
        running = true
    }

    private func endTurn() {
        running = false
        if !waiters.isEmpty { waiters.removeFirst().resume() }
    }

    /// Gives the lease up (at shutdown) so another replica can take over at once.
    public func releaseLease() async {
        // A turn of its own: a scheduled pass must not start (and take the lease again) while this releases it.
        await takeTurn()
        defer { endTurn() }
        guard state.holdsLease else { return }
        try? await store.releaseLease(Flusher.leaseName, holder: options.holder)
        state.holdsLease = false
        metrics.flushLeader.set(0)
    }

    static func describe(_ error: any Error) -> String {
        switch error {
        case let e as ArchiverError: e.message
        case let e as CoordinationError: e.message
        default: "\(error)"
        }
    }

    static func kind(of error: any Error) -> String {
        switch error {
        case let e as ArchiverError: "\(e.code)"
        case let e as CoordinationError: "\(e.code)"
        default: "other"
        }
    }
}
