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

    func run() async throws {
        while await waitForNextPass(interval) {
            do {
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
            } catch let error as ArchiverError where error.code == .compactionInProgress {
                logger.debug("compaction skipped", metadata: ["reason": "\(error)"])
            } catch is CancellationError {
                break
            } catch {
                metrics.error("compact")
                logger.warning("compaction failed", metadata: ["error": "\(error)"])
            }
        }
        logger.info("compaction schedule stopped")
    }
}
