import Coordination
import Foundation
import Logging
import ServiceLifecycle

/// Takes the console's chart samples inside `archiver serve`: every `interval` seconds the figures `/ready`
/// reads (flush lag, from an index range) and the archive's size (from manifests, cached), into
/// ``SampleRing``. A failed reading is skipped; the chart shows a gap.
struct ConsoleSampler: Service {
    let api: ArchiverAPI
    var interval: Double = 15

    func run() async throws {
        repeat {
            await takeSample()
        } while await waitForNextPass(interval)
    }

    func takeSample() async {
        guard let (status, seconds) = try? await ProbeRoutes(api: api).lag() else { return }
        let bytes = (try? await api.console.sizes.current().bytes) ?? api.console.samples.samples.last?.archiveBytes
        api.console.samples.append(
            SampleRing.Sample(
                time: Date(), headPosition: status.flushCursor + status.unflushedCount,
                unflushedEvents: status.unflushedCount, lagSeconds: seconds, archiveBytes: bytes ?? 0))
    }
}
