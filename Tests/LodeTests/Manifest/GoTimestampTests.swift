import Foundation
import Lode
import Testing

/// Manifest `min_timestamp`/`max_timestamp` are written as Go's `time.Time` JSON writes them (RFC 3339 with
/// nanoseconds, trailing fractional zeros trimmed), so Go and Swift manifests of the same facts are identical.
@Suite struct GoTimestampTests {
    @Test(arguments: [
        ("2026-01-02T03:04:05.100000Z", "2026-01-02T03:04:05.1Z"),
        ("2026-01-02T03:04:05.000000Z", "2026-01-02T03:04:05Z"),
        ("2026-01-02T03:04:05Z", "2026-01-02T03:04:05Z"),
        ("2026-01-02T03:04:05.123456789Z", "2026-01-02T03:04:05.123456789Z"),
        ("2026-01-02T03:04:05.120+01:00", "2026-01-02T03:04:05.12+01:00"),
        ("2025-12-31T23:59:58.500000Z", "2025-12-31T23:59:58.5Z"),
    ])
    func goForm(_ input: String, _ expected: String) {
        #expect(LodeTimestamp.goJSONForm(input) == expected)
    }

    @Test func notRFC3339IsNil() {
        #expect(LodeTimestamp.goJSONForm("yesterday") == nil)
    }

    /// LODE_FORMAT.md §3.3's worked example (the bytes Go's `json.MarshalIndent` writes) from a commit given the
    /// archiver's old microsecond timestamps: identical once `created_at` (the commit time) is the example's.
    @Test func committedManifestMatchesTheGoWrittenExample() async throws {
        let store = MemoryStore()
        let dataset = try LodeDataset(store: store, datasetID: "orders", codec: .jsonl, compressor: .noop)
        let parent = "1767139200000000042"
        _ = try await dataset.commit(snapshotID: parent, files: [], rowCount: 0, expectedParent: "")
        let example = ManifestSerializerTests.workedExampleManifest
        let committed = try await dataset.commit(
            snapshotID: example.snapshotID, files: example.files, rowCount: 2, metadata: example.metadata,
            minTimestamp: "2025-12-31T23:59:58.500000Z", maxTimestamp: "2025-12-31T23:59:59.250000Z",
            expectedParent: parent)
        var stored = String(
            decoding: try await store.get(dataset.manifestKey(snapshotID: example.snapshotID)), as: UTF8.self)
        stored = stored.replacingOccurrences(
            of: "\"created_at\": \"\(committed.createdAt)\"", with: "\"created_at\": \"2026-01-01T00:00:00.130002Z\"")
        #expect(stored == ManifestSerializerTests.workedExample)
    }
}
