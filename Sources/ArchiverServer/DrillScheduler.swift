public import ArchiverCore
import Coordination
import Logging
import ServiceLifecycle

/// How `archiver serve` runs restore drills (`--drill-every`): the interval and where scratch stores are made.
public struct DrillSchedule: Sendable {
    /// Seconds between drills.
    public var interval: Double
    public var scratchStore: ScratchStoreFactory
    /// Written into each attestation, e.g. `lode-archiver 0.1.0`.
    public var producer: String

    public init(interval: Double, producer: String, scratchStore: @escaping ScratchStoreFactory) {
        self.interval = interval
        self.producer = producer
        self.scratchStore = scratchStore
    }
}

/// Restore drills inside `archiver serve`: a drill of the latest cut every interval, its attestation recorded in
/// the archive (so `prune` can rely on it), its result in `archiver_last_drill_success_timestamp_seconds` and
/// `archiver_drill_failures_total`.
///
/// A drill only reads the live store and the archive and writes to its own scratch store and the `drills`
/// dataset, so replicas may each run one. On graceful shutdown a drill in progress is cancelled; nothing is
/// recorded for it.
struct DrillScheduler: Service {
    let archive: Archive
    let store: any CoordinationStore
    let schedule: DrillSchedule
    let metrics: ServerMetrics
    let logger: Logger

    func run() async throws {
        while await waitForNextPass(schedule.interval) {
            do {
                let runner = DrillRunner(
                    archive: archive, live: store, producer: schedule.producer, scratchStore: schedule.scratchStore)
                let attestation = try await cancelWhenGracefulShutdown { try await runner.run(.cut(.latest)) }
                record(attestation)
            } catch let error as ArchiverError where error.code == .emptyArchive {
                logger.debug("drill skipped: nothing archived yet")
            } catch is CancellationError {
                break
            } catch {
                metrics.recordDrill(passed: false)
                metrics.error("drill")
                logger.warning("drill could not run", metadata: ["error": "\(error)"])
            }
        }
        logger.info("drill schedule stopped")
    }

    func record(_ attestation: DrillAttestation) {
        let metadata: Logger.Metadata = [
            "cut": "\(attestation.cutSnapshotID)", "last_position": "\(attestation.lastPosition)",
            "events": "\(attestation.restoredEvents)", "duration_ms": "\(attestation.durationMilliseconds)",
        ]
        metrics.recordDrill(passed: attestation.passed)
        if attestation.passed {
            logger.info("drill passed", metadata: metadata)
        } else {
            for difference in attestation.differences {
                logger.error("drill failed", metadata: metadata.merging(["difference": "\(difference)"]) { a, _ in a })
            }
        }
    }
}
