import ArchiverCore
import Foundation
import Lode
import Testing

@Suite struct ArchiveStatsTests {
    /// On a real flushed archive: the events dataset's counts are the flush's, its stored bytes the objects'
    /// sizes in the store, its uncompressed bytes what a full decompression of each object gives.
    @Test func statsOfAFlushedArchiveMatchTheStoredObjects() async throws {
        try await TestArchive.with(bytesPerSnapshot: 8 * 1024) { fixture in
            try await fixture.append(600)
            let flushed = try await fixture.flush(checkpointEvery: 0)
            let stats = try await ArchiveStats.collect(store: fixture.memory, uncompressed: true)
            let events = try #require(stats.first { $0.datasetID == "events" })

            let objects = try await fixture.memory.list(prefix: "datasets/events/")
            let dataFiles = objects.filter { $0.key.contains("/data/") }
            var decompressed: Int64 = 0
            for file in dataFiles {
                let stored = try await fixture.memory.get(file.key)
                decompressed += Int64(try LodeCompressor.zstd().decompress(stored).count)
            }
            #expect(events.snapshots == flushed.snapshotIDs.count && events.snapshots > 1)
            #expect(events.records == 600)
            #expect(events.files == dataFiles.count)
            #expect(events.storedBytes == dataFiles.reduce(0) { $0 + $1.size })
            #expect(events.uncompressedBytes == decompressed)
            #expect(events.bytesPerRecord == Double(events.storedBytes) / 600)
            #expect(try #require(events.compressionRatio) > 1.5, "record lines compress: \(events)")

            let manifestsOnly = try await ArchiveStats.collect(store: fixture.memory, uncompressed: false)
            var expected = stats
            for index in expected.indices { expected[index].uncompressedBytes = nil }
            #expect(manifestsOnly == expected)
        }
    }
}
