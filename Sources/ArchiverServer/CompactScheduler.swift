import ArchiverCore
import Coordination
import Logging
import ServiceLifecycle

/// Compaction inside `archiver serve` (`compact-every`): a pass of `archiver compact` (never `--retire`) every
/// interval. Any replica may run it; the compaction lease lets one at a time work, and a pass that finds the
/// archive already compacted through its head does nothing.
///
/// On graceful shutdown the wait ends at once; a pass in progress is cancelled with the service, which is safe:
/// a generation is activated only after it is complete and verified, and the next pass removes a partial one.
struct CompactScheduler: Service {
    let archive: Archive
    let store: any CoordinationStore
    let interval: Double
    let options: CompactionOptions
    let metrics: ServerMetrics
    let logger: Logger

    /// Passes on the one loop that also runs the flush schedule (``FlushLoop``): the first after one interval.
    func run() async throws {
        let loop = FlushLoop(store: store, schedule: .every(seconds: interval))
        do {
            try await loop.run(sleep: waitForNextPass, failure: skipOrLog) {
                let summary = try await cancelWhenGracefulShutdown {
                    try await Compactor(archive: archive, store: store).run(options)
                }
                if let generation = summary.generation {
                    logger.info(
                        "compacted",
                        metadata: [
                            "generation": "\(generation)", "snapshots": "\(summary.snapshots)",
                            "files_before": "\(summary.filesBefore)", "files_after": "\(summary.filesAfter)",
                        ])
                }
            }
        } catch is CancellationError {
            // A pass cancelled with the service ends the schedule.
        }
        logger.info("compaction schedule stopped")
    }

    /// A pass that failed: skipped while another replica compacts, counted and logged otherwise; a cancelled
    /// pass stops the loop.
    func skipOrLog(_ error: any Error) throws {
        switch error {
        case let error as ArchiverError where error.code == .compactionInProgress:
            logger.debug("compaction skipped", metadata: ["reason": "\(error)"])
        case is CancellationError:
            throw error
        default:
            metrics.error("compact")
            logger.warning("compaction failed", metadata: ["error": "\(error)"])
        }
    }
}
