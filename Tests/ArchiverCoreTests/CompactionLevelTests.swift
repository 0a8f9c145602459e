import ArchiverCore
import Foundation
import Lode
import Testing

@Suite struct CompactionLevelTests {
    /// A generation written at zstd level 19 verifies, replays to the same rows, and is smaller per event than
    /// one written at the archive's level 1.
    @Test func generationAtLevel19VerifiesReplaysAlikeAndIsSmaller() async throws {
        try await TestArchive.with(bytesPerSnapshot: 8 * 1024) { fixture in
            try await fixture.append(3_000)
            try await fixture.flush(checkpointEvery: 0)
            let archive = try fixture.archive()
            let (rows, _) = try await foldRows(archive, plan: try await archive.plan(to: .latest))
            var options = CompactionOptions(producer: "test", spoolDirectory: fixture.directory)
            let compactor = Compactor(archive: archive, store: fixture.coordination)
            let first = try await compactor.run(options)
            #expect(first.generation == 1 && first.events == 3_000)

            // Ten more events, then generation 2 re-copies all 3,010 at level 19: smaller despite holding more.
            try await fixture.append(10, from: 3_000)
            try await fixture.flush(checkpointEvery: 0)
            options.zstdLevel = 19
            let second = try await compactor.run(options)
            #expect(second.generation == 2 && second.events == 3_010)
            #expect(second.recordBytes > first.recordBytes)
            #expect(
                second.storedBytesAfter < first.storedBytesAfter,
                "level 19: \(second.storedBytesAfter) bytes, level 1: \(first.storedBytesAfter)")
            print(
                "compaction of 3,000 events: level 1 \(first.storedBytesAfter) bytes, level 19 (3,010 events) "
                    + "\(second.storedBytesAfter) bytes")

            let report = try await Verifier(archive: archive).run()
            #expect(report.isIntact && report.events == 3_010, "\(report.problems.prefix(3))")
            let stream = ReplayFilter(streams: ["order-7"])
            let (after, _) = try await foldRows(archive, plan: try await archive.plan(to: .position(3_000)))
            #expect(after == rows)
            let (streamAfter, _) = try await foldRows(
                archive, plan: try await archive.plan(to: .position(3_000)), filter: stream)
            #expect(streamAfter == rows.filter { $0.key == "order-7" } && !streamAfter.isEmpty)

            let stats = try await ArchiveStats.collect(store: fixture.memory, uncompressed: true)
            let generation = try #require(stats.first { $0.datasetID == "events-gen2" })
            #expect(generation.records == 3_010 && generation.storedBytes == second.storedBytesAfter)
            #expect(generation.uncompressedBytes == second.recordBytes)
        }
    }

    /// A level outside zstd's 1…22 is refused before anything is written.
    @Test func levelOutsideTheRangeIsRefused() async throws {
        try await TestArchive.with { fixture in
            try await fixture.append(20)
            try await fixture.flush(checkpointEvery: 0)
            var options = CompactionOptions(producer: "test", spoolDirectory: fixture.directory)
            options.zstdLevel = 23
            let compactor = Compactor(archive: try fixture.archive(), store: fixture.coordination)
            let error = await #expect(throws: ArchiverError.self) { try await compactor.run(options) }
            #expect(error?.code == .invalidArgument && error?.message.contains("1…22") == true)
            #expect(try await fixture.memory.list(prefix: "datasets/events-gen").isEmpty)
        }
    }
}
