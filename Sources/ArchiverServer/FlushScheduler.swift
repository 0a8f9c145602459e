import ArchiverCore
import Coordination
import CoreMetrics
import Logging
import ServiceLifecycle

/// The flusher's schedule inside `archiver serve`: a pass every `flush-interval` seconds; only the replica
/// holding the flush lease archives anything (see ``FlushCoordinator``).
///
/// On graceful shutdown (which the sidecar signals after the HTTP server has finished its requests in flight) the
/// wait between passes ends at once, a pass in progress finishes, one last pass archives what was appended since,
/// and the lease is released so a standby replica takes over without waiting for it to expire. Passes are only
/// cancelled when the shutdown deadline passes, which leaves a flush intent the next flusher completes; the last
/// pass's outcome goes to ``FinalFlush``.
struct FlushScheduler: Service {
    let coordinator: FlushCoordinator
    let store: any CoordinationStore
    let interval: Double
    /// Idempotency results older than this are pruned by the lease holder, once an hour.
    let idempotencyRetention: Double
    let metrics: ServerMetrics
    let finalFlush: FinalFlush
    let logger: Logger

    func run() async throws {
        var lastPrune = ContinuousClock.now - .seconds(3_600)
        let loop = FlushLoop(store: store, schedule: .every(seconds: interval))
        try await loop.run(sleep: waitForNextPass) {
            do {
                _ = try await coordinator.flush()
            } catch {
                // Counted and logged by the coordinator; the next pass retries.
            }
            guard await coordinator.state.holdsLease, ContinuousClock.now - lastPrune >= .seconds(3_600) else { return }
            lastPrune = .now
            await pruneIdempotencyKeys()
        }
        if Task.isShuttingDownGracefully { await runFinalPass() }
        await coordinator.releaseLease()
        logger.info("flush schedule stopped")
    }

    /// The last pass at shutdown: archives what appends committed after the previous pass.
    func runFinalPass() async {
        do {
            let summary = try await coordinator.flush()
            finalFlush.record(.completed(events: summary.events))
            logger.info("final flush done", metadata: ["events": "\(summary.events)"])
        } catch let error as ArchiverError where error.code == .flushInProgress {
            finalFlush.record(.standby)
        } catch {
            if Task.isCancelled {
                finalFlush.record(.cutShort)
            } else {
                finalFlush.record(.failed(FlushCoordinator.describe(error)))
            }
        }
    }

    /// Removes idempotency results older than the retention; a failure is logged and retried next hour.
    func pruneIdempotencyKeys() async {
        do {
            let pruned = try await store.pruneIdempotencyKeys(olderThanSeconds: idempotencyRetention)
            metrics.prunedIdempotencyKeys.increment(by: pruned)
        } catch {
            metrics.error("prune")
            logger.warning("pruning idempotency keys failed", metadata: ["error": "\(error)"])
        }
    }
}

/// Waits `seconds` before a scheduled pass; false when the service is shutting down or cancelled (a graceful
/// shutdown ends the wait at once).
func waitForNextPass(_ seconds: Double) async -> Bool {
    guard !Task.isShuttingDownGracefully && !Task.isCancelled else { return false }
    do {
        try await cancelWhenGracefulShutdown { try await Task.sleep(for: .milliseconds(Int64(seconds * 1_000))) }
        return true
    } catch {
        return false
    }
}
