import ArchiveFormat
import ArchiverCore
import Foundation
import Lode
import Testing

@Suite struct CompactionTests {
    /// What a reader of the archive sees: fold rows, the verify report's totals, and an export bundle's files.
    struct Results: Equatable {
        var rows: [ProjectedRow]
        var streamRows: [ProjectedRow]
        var insideRun: [ProjectedRow]
        var atPosition: [ProjectedRow]
        var verifiedEvents: Int64
        var chainHead: ChainHash
        var bundle: [String: [UInt8]]
    }

    static func results(
        _ archive: Archive, stream: String, insideRun: String, directory: String
    ) async throws -> (Results, ReadStats) {
        let plan = try await archive.plan(to: .latest)
        let (rows, stats) = try await foldRows(archive, plan: plan)
        let (streamRows, _) = try await foldRows(archive, plan: plan, filter: ReplayFilter(streams: [stream]))
        let (inside, _) = try await foldRows(archive, plan: try await archive.plan(to: .snapshot(insideRun)))
        let (atPosition, _) = try await foldRows(archive, plan: try await archive.plan(to: .position(777)))
        let report = try await Verifier(archive: archive).run()
        #expect(report.isIntact, "\(report.problems.prefix(3))")
        let bundle = directory + "/bundle-\(UUID().uuidString)"
        let summary = try await Exporter(archive: archive).run(
            plan: plan, selection: ExportSelection(filter: ReplayFilter(streams: [stream])), directory: bundle,
            csv: true)
        #expect(summary.events > 0)
        var files: [String: [UInt8]] = [:]
        for name in try FileManager.default.subpathsOfDirectory(atPath: bundle).sorted()
        where name != ExportBundle.info && name != ExportBundle.readme && name != ExportBundle.manifests {
            files[name] = Array(try Data(contentsOf: URL(fileURLWithPath: bundle + "/" + name)))
        }
        return (
            Results(
                rows: rows, streamRows: streamRows, insideRun: inside, atPosition: atPosition,
                verifiedEvents: report.events, chainHead: report.chainHead, bundle: files), stats.read
        )
    }

    /// The issue's must-show: 1,000 small snapshots; replay, verify and export give identical results before
    /// compaction, after it, and after the originals' data files are retired.
    @Test func compactingAThousandSnapshotsChangesNoResult() async throws {
        try await TestArchive.with { fixture in
            try await fixture.append(1_000)
            let flushed = try await fixture.flush(checkpointEvery: 300)
            #expect(flushed.snapshotIDs.count == 1_000)
            let archive = try fixture.archive()
            let stream = "order-7"
            let insideRun = flushed.snapshotIDs[512]
            let (before, statsBefore) = try await Self.results(
                archive, stream: stream, insideRun: insideRun, directory: fixture.directory)
            #expect(before.rows.count == 50 && before.verifiedEvents == 1_000)
            #expect(before.insideRun != before.rows)

            var options = CompactionOptions(producer: "test", spoolDirectory: fixture.directory)
            options.targetBytes = 64 * 1024
            let compactor = Compactor(archive: archive, store: fixture.coordination)
            var dryRun = options
            dryRun.dryRun = true
            let dry = try await compactor.run(dryRun)
            #expect(dry.generation == 1 && dry.runs == 0)
            #expect(try await archive.activeGeneration() == nil)

            let summary = try await compactor.run(options)
            #expect(summary.generation == 1 && summary.snapshots == 1_000 && summary.events == 1_000)
            #expect(summary.runs > 1 && summary.runs < 20)
            #expect(summary.filesBefore == statsBefore.files)
            #expect(summary.filesAfter < summary.filesBefore / 10)
            print(
                "compaction of 1,000 snapshots: \(summary.filesBefore) files → \(summary.filesAfter) in "
                    + "\(summary.runs) generation snapshots; stored \(summary.storedBytesBefore) → "
                    + "\(summary.storedBytesAfter) bytes")
            let active = try #require(try await archive.activeGeneration())
            #expect(active.number == 1 && active.runs.count == summary.runs)
            #expect(active.throughSnapshotID == flushed.snapshotIDs.last)
            // The replay to `insideRun` stops inside a generation snapshot, as does the one to position 777.
            #expect(!active.runs.contains { $0.run?.lastSnapshotID == insideRun })
            #expect(active.runs.contains { $0.facts.firstPosition < 777 && $0.facts.lastPosition > 777 })
            // The original manifests (cut points) are untouched: the plan still lists them.
            #expect(try await archive.plan(to: .latest).allCuts().map(\.snapshotID) == flushed.snapshotIDs)

            let (after, statsAfter) = try await Self.results(
                archive, stream: stream, insideRun: insideRun, directory: fixture.directory)
            #expect(after == before)
            #expect(statsAfter.files == summary.filesAfter && statsAfter.snapshots == summary.runs)

            // Nothing new: a second pass does nothing.
            let again = try await compactor.run(options)
            #expect(again.generation == nil && again.note != nil)

            let retired = try await compactor.retire(options, retentionSeconds: 0)
            #expect(retired.deleted == statsBefore.files && retired.keptYoung == 0)
            let eventObjects = try await fixture.memory.list(prefix: "datasets/events/")
            #expect(!eventObjects.contains { $0.key.hasSuffix(".zst") })
            #expect(eventObjects.filter { $0.key.hasSuffix("/manifest.json") }.count >= 1_000)
            let (retiredResults, _) = try await Self.results(
                archive, stream: stream, insideRun: insideRun, directory: fixture.directory)
            #expect(retiredResults == before)

            // More snapshots after the generation are read from the originals; the next generation covers them,
            // read from the first generation (the originals' data is gone), and retires the first generation.
            try await fixture.append(40, from: 1_000)
            try await fixture.flush(checkpointEvery: 300)
            let (grown, _) = try await foldRows(archive, plan: try await archive.plan(to: .latest))
            let second = try await compactor.run(options)
            #expect(second.generation == 2 && second.snapshots == 1_040)
            let (grownAfter, _) = try await foldRows(archive, plan: try await archive.plan(to: .latest))
            #expect(grownAfter == grown)
            let verified = try await Verifier(archive: archive).run()
            #expect(verified.isIntact && verified.events == 1_040 && verified.snapshots == 1_040)
            #expect(verified.problems.contains { $0.location.hasPrefix("datasets/events-gen1/") })
            let retiredAgain = try await compactor.retire(options, retentionSeconds: 0)
            #expect(retiredAgain.deleted == summary.filesAfter + 40)
            let clean = try await Verifier(archive: archive).run()
            #expect(clean.isIntact && clean.problems.isEmpty, "\(clean.problems.prefix(3))")
        }
    }

    /// `--retire` refuses (and deletes nothing) while an object of the active generation does not verify; the
    /// retention keeps young objects.
    @Test func retireRefusesWhileVerificationFails() async throws {
        try await TestArchive.with { fixture in
            try await fixture.append(120)
            try await fixture.flush(checkpointEvery: 0)
            let archive = try fixture.archive()
            var options = CompactionOptions(producer: "test", spoolDirectory: fixture.directory)
            options.targetBytes = 8 * 1024
            let compactor = Compactor(archive: archive, store: fixture.coordination)
            _ = try await compactor.run(options)

            var dryRun = options
            dryRun.dryRun = true
            let young = try await compactor.retire(dryRun, retentionSeconds: 3_600)
            #expect(young.deleted == 0 && young.keptYoung == 120)

            let active = try #require(try await archive.activeGeneration())
            let victim = active.runs[1].manifest.files[0].path
            var bytes = try await fixture.memory.get(victim)
            bytes[bytes.count / 2] ^= 0x01
            fixture.memory.overwrite(victim, with: bytes)
            let before = try await fixture.memory.list(prefix: "datasets/events/").count
            let error = await #expect(throws: ArchiverError.self) {
                try await compactor.retire(options, retentionSeconds: 0)
            }
            #expect(error?.code == .retireRefused)
            #expect(error?.message.contains(victim) == true, "\(error?.message ?? "")")
            #expect(try await fixture.memory.list(prefix: "datasets/events/").count == before)
            let report = try await Verifier(archive: archive).run()
            #expect(report.problems.contains { $0.kind == .tampered && $0.location == victim })
        }
    }

    /// A generation never activated (an interrupted compaction) is invisible to readers, listed by `verify` as
    /// orphans, and removed by the next compaction, which uses a new generation number.
    @Test func partialGenerationIsInvisibleAndRemovedByTheNextCompaction() async throws {
        try await TestArchive.with { fixture in
            try await fixture.append(60)
            try await fixture.flush(checkpointEvery: 0)
            let archive = try fixture.archive()
            let (rows, _) = try await foldRows(archive, plan: try await archive.plan(to: .latest))
            let stray = "datasets/events-gen1/partitions/category=account/day=2026-01-01/segments/1/data/data.zst"
            try await fixture.memory.put(stray, Array("not records".utf8))
            let report = try await Verifier(archive: archive).run()
            #expect(report.isIntact)
            #expect(report.problems.map(\.location) == [stray])
            #expect(try await archive.activeGeneration() == nil)

            let summary = try await Compactor(archive: archive, store: fixture.coordination).run(
                CompactionOptions(producer: "test", spoolDirectory: fixture.directory))
            #expect(summary.removedPartial == ["events-gen1"] && summary.generation == 2 && summary.runs == 1)
            #expect(try await fixture.memory.head(stray) == nil)
            let (after, _) = try await foldRows(archive, plan: try await archive.plan(to: .latest))
            #expect(after == rows)
            #expect(try await Verifier(archive: archive).run().problems.isEmpty)
        }
    }
}
