import ArchiverServer
import Testing

@Suite struct UpcastMetricsTests {
    /// The configured rule set's hash is an info metric; without rules there is no such line.
    @Test func theRuleSetHashIsAnInfoMetric() {
        let metrics = ServerMetrics()
        metrics.recordUpcasters(sha256: nil)
        #expect(!metrics.exposition().contains("archiver_upcasters_info"))
        let hash = String(repeating: "ab", count: 32)
        metrics.recordUpcasters(sha256: hash)
        #expect(metrics.exposition().contains("archiver_upcasters_info{sha256=\"\(hash)\"} 1"))
    }
}
