public import ArchiverCore
import Coordination
import CoreMetrics
import Foundation
import Metrics
public import Prometheus

/// The sidecar's metrics, recorded through swift-metrics into a Prometheus registry of its own (so several
/// servers in one test process do not share counters), and rendered for `GET /metrics`.
public final class ServerMetrics: Sendable {
    public let registry: PrometheusCollectorRegistry
    private let factory: PrometheusMetricsFactory

    let appendDuration: CoreMetrics.Timer
    let appendedEvents: CoreMetrics.Counter
    let conflicts: CoreMetrics.Counter
    let idempotentReplays: CoreMetrics.Counter
    let flushLagEvents: Meter
    let flushLagSeconds: Meter
    let flushedEvents: CoreMetrics.Counter
    let segmentBytesIn: CoreMetrics.Counter
    let segmentBytesOut: CoreMetrics.Counter
    let compressionRatio: Meter
    let lastCutPosition: Meter
    let flushLeader: Meter
    let prunedThrough: Meter
    let prunedIdempotencyKeys: CoreMetrics.Counter
    let lastDrillSuccess: Meter
    let drillFailures: CoreMetrics.Counter
    let coldReadDuration: CoreMetrics.Timer
    let coldCacheHits: CoreMetrics.Counter
    let coldCacheMisses: CoreMetrics.Counter
    let coldBytesFetched: CoreMetrics.Counter
    let coldCacheBytes: Meter

    public init() {
        registry = PrometheusCollectorRegistry()
        var factory = PrometheusMetricsFactory(registry: registry)
        factory.durationHistogramBuckets["archiver_append_duration_seconds"] = [
            .microseconds(250), .microseconds(500), .milliseconds(1), .milliseconds(2), .milliseconds(5),
            .milliseconds(10), .milliseconds(25), .milliseconds(50), .milliseconds(100), .milliseconds(250),
            .milliseconds(500), .seconds(1), .seconds(5),
        ]
        factory.durationHistogramBuckets["archiver_cold_read_duration_seconds"] = [
            .milliseconds(1), .milliseconds(5), .milliseconds(10), .milliseconds(20), .milliseconds(50),
            .milliseconds(100), .milliseconds(250), .milliseconds(500), .seconds(1), .seconds(5),
        ]
        self.factory = factory
        appendDuration = CoreMetrics.Timer(label: "archiver_append_duration_seconds", factory: factory)
        appendedEvents = CoreMetrics.Counter(label: "archiver_appended_events_total", factory: factory)
        conflicts = CoreMetrics.Counter(label: "archiver_append_conflicts_total", factory: factory)
        idempotentReplays = CoreMetrics.Counter(label: "archiver_idempotent_replays_total", factory: factory)
        flushLagEvents = Meter(label: "archiver_flush_lag_events", factory: factory)
        flushLagSeconds = Meter(label: "archiver_flush_lag_seconds", factory: factory)
        flushedEvents = CoreMetrics.Counter(label: "archiver_flushed_events_total", factory: factory)
        segmentBytesIn = Counter(
            label: "archiver_segment_bytes_total", dimensions: [("kind", "uncompressed")], factory: factory)
        segmentBytesOut = Counter(
            label: "archiver_segment_bytes_total", dimensions: [("kind", "stored")], factory: factory)
        compressionRatio = Meter(label: "archiver_compression_ratio", factory: factory)
        lastCutPosition = Meter(label: "archiver_last_cut_position", factory: factory)
        flushLeader = Meter(label: "archiver_flush_lease_held", factory: factory)
        prunedThrough = Meter(label: "archiver_pruned_through_position", factory: factory)
        prunedIdempotencyKeys = CoreMetrics.Counter(label: "archiver_pruned_idempotency_keys_total", factory: factory)
        lastDrillSuccess = Meter(label: "archiver_last_drill_success_timestamp_seconds", factory: factory)
        drillFailures = CoreMetrics.Counter(label: "archiver_drill_failures_total", factory: factory)
        coldReadDuration = CoreMetrics.Timer(label: "archiver_cold_read_duration_seconds", factory: factory)
        coldCacheHits = CoreMetrics.Counter(label: "archiver_cold_cache_hits_total", factory: factory)
        coldCacheMisses = CoreMetrics.Counter(label: "archiver_cold_cache_misses_total", factory: factory)
        coldBytesFetched = CoreMetrics.Counter(label: "archiver_cold_bytes_fetched_total", factory: factory)
        coldCacheBytes = Meter(label: "archiver_cold_cache_bytes", factory: factory)
    }

    /// `archiver_upcasters_info{sha256="…"} 1`: the hash of the configured upcaster rule set
    /// (docs/REPLAY.md "Upcasting"); absent without one.
    public func recordUpcasters(sha256: String?) {
        guard let sha256 else { return }
        Meter(label: "archiver_upcasters_info", dimensions: [("sha256", sha256)], factory: factory).set(1)
    }

    /// Counts one append request by its outcome (`created`, `replayed`, `conflict`, `invalid`, `too_large`,
    /// `unauthorized`, `error`).
    func appendRequest(_ result: String) {
        CoreMetrics.Counter(label: "archiver_append_requests_total", dimensions: [("result", result)], factory: factory)
            .increment()
    }

    /// Counts one failure by kind (a `CoordinationError` / `ArchiverError` code, or a route-level kind).
    func error(_ kind: String) {
        CoreMetrics.Counter(label: "archiver_errors_total", dimensions: [("kind", kind)], factory: factory).increment()
    }

    func flushPass(_ result: String) {
        CoreMetrics.Counter(label: "archiver_flush_passes_total", dimensions: [("result", result)], factory: factory)
            .increment()
    }

    func recordFlush(_ summary: FlushSummary) {
        flushedEvents.increment(by: summary.events)
        segmentBytesIn.increment(by: summary.bytesIn)
        segmentBytesOut.increment(by: summary.bytesOut)
        if summary.bytesOut > 0 { compressionRatio.set(summary.ratio) }
        lastCutPosition.set(summary.lastPosition)
    }

    func recordStatus(_ status: FlushLag, lagSeconds: Double) {
        flushLagEvents.set(status.unflushedCount)
        flushLagSeconds.set(lagSeconds)
        lastCutPosition.set(status.flushCursor)
        prunedThrough.set(status.prunedThrough)
    }

    /// Records a drill's outcome: the time of the last pass, or one more failure.
    func recordDrill(passed: Bool) {
        if passed { lastDrillSuccess.set(Date().timeIntervalSince1970) } else { drillFailures.increment() }
    }

    /// The Prometheus text exposition.
    public func exposition() -> String {
        registry.emitToString()
    }
}

/// Reads of pruned history (``ColdEventSource``): `archiver_cold_read_duration_seconds` (a histogram; its count
/// is the number of cold reads), cache hits and misses, bytes fetched from the archive, bytes cached.
extension ServerMetrics: ColdReadObserver {
    public func coldRead(seconds: Double) {
        coldReadDuration.recordNanoseconds(Int64(seconds * 1e9))
    }

    public func cacheHit() { coldCacheHits.increment() }

    public func cacheMiss(storedBytes: Int64) {
        coldCacheMisses.increment()
        coldBytesFetched.increment(by: Int(storedBytes))
    }

    public func cacheBytes(_ bytes: Int64) { coldCacheBytes.set(bytes) }
}
