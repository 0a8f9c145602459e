import ArchiveFormat
import ArchiverCore
import Foundation
import Lode
import Testing

@Suite struct CatalogTests {
    /// The issue's must-show: 20k snapshots; replay of the latest cut reads the newest checkpoint plus the
    /// manifests after it, never a listing, and gives what a full chain walk gives.
    @Test func replayOfTwentyThousandSnapshotsReadsOneCheckpointPlusTheTail() async throws {
        try await TestArchive.with { fixture in
            try await fixture.append(20_000)
            let first = try await fixture.flush(checkpointEvery: 1000)
            #expect(first.snapshotIDs.count == 20_000)
            #expect(first.checkpoints.count == 20)
            #expect(first.notes.isEmpty, "\(first.notes)")
            try await fixture.append(37, from: 20_000)
            let second = try await fixture.flush(checkpointEvery: 1000)
            #expect(second.snapshotIDs.count == 37 && second.checkpoints.isEmpty)

            let counting = CountingStore(base: fixture.memory)
            let archive = try fixture.archive(over: counting)
            let plan = try await archive.plan(to: .latest)
            let checkpoint = try #require(try await ArchiveCatalog(archive: fixture.archive()).latest())
            #expect(plan.planning.checkpoint == checkpoint.snapshotID)
            #expect(plan.planning.fromCheckpoint == 20_000 && plan.planning.manifestsRead == 37)
            #expect(plan.cuts.count == 20_037)
            // Parts merge like a binary counter up to 4096 entries: 20 intervals of 1000 → 5 parts of 4000.
            #expect(checkpoint.manifest.files.count == 5)
            #expect(checkpoint.format == ArchiveCatalog.formatVersion)
            let eventsManifests = counting.count("get", prefix: "datasets/events/segments/")
            let catalogReads = counting.count("get", prefix: "datasets/catalog/")
            #expect(counting.count("list") == 0)
            #expect(eventsManifests == 37)
            // catalog: pointer, manifest, the parts.
            #expect(catalogReads == 2 + checkpoint.manifest.files.count)
            // + the events pointer and the generations pointer (absent: the archive was never compacted).
            #expect(counting.count("get", prefix: "datasets/generations/latest") == 1)
            #expect(counting.total == eventsManifests + catalogReads + 2)
            print("plan of 20,037 snapshots with a checkpoint: \(counting.total) store operations")

            counting.reset()
            let walked = try await archive.plan(to: .latest, source: .manifests)
            print("plan of 20,037 snapshots by chain walk: \(counting.total) store operations")
            #expect(counting.total > 20_037)
            #expect(walked.cuts.map(\.manifest) == plan.cuts.map(\.manifest))
            #expect(walked.cuts.map(\.facts) == plan.cuts.map(\.facts))

            let (rows, stats) = try await foldRows(archive, plan: plan)
            let (walkedRows, _) = try await foldRows(archive, plan: walked)
            #expect(rows == walkedRows)
            #expect(rows.count == 50)
            #expect(stats.read.events == 20_037)
        }
    }

    @Test func everyCutSelectorResolvesTheSameWithAndWithoutTheCatalog() async throws {
        try await TestArchive.with { fixture in
            try await fixture.append(130)
            try await fixture.flush(checkpointEvery: 25)
            let archive = try fixture.archive()
            let all = try await archive.plan(to: .latest, source: .manifests).cuts
            let selectors: [CutSelector] = [
                .latest, .snapshot(all[10].snapshotID), .snapshot(all[120].snapshotID), .position(77),
                .time(all[60].facts.maxRecordedAtNanos),
            ]
            for selector in selectors {
                let viaCatalog = try await archive.plan(to: selector)
                let viaManifests = try await archive.plan(to: selector, source: .manifests)
                #expect(viaCatalog.planning.checkpoint != nil)
                #expect(viaCatalog.cuts.map(\.snapshotID) == viaManifests.cuts.map(\.snapshotID), "\(selector)")
                #expect(viaCatalog.lastPosition == viaManifests.lastPosition)
            }
            let report = try await Verifier(archive: archive).run()
            #expect(report.isIntact, "\(report.problems)")
        }
    }

    /// A checkpoint is derived data: a missing part or an altered entry never breaks reads (they fall back to
    /// the manifests, with a note), verify reports it at the catalog, and a rebuild repairs it.
    @Test func damagedCheckpointFallsBackAndVerifyReportsIt() async throws {
        try await TestArchive.with { fixture in
            try await fixture.append(60)
            try await fixture.flush(checkpointEvery: 20)
            let archive = try fixture.archive()
            let catalog = try ArchiveCatalog(archive: archive)
            let checkpoint = try #require(try await catalog.latest())
            #expect(checkpoint.throughSequence == 60)
            let expected = try await archive.plan(to: .latest, source: .manifests).cuts.map(\.snapshotID)

            // 1. An entry that lies (another size for every file of the newest part), in a part whose MD5 the
            //    catalog manifest records correctly: only comparing with the manifests can find it.
            let part = checkpoint.manifest.files.last!
            let original = try await catalog.dataset.readFile(part, manifest: checkpoint.manifest)
            let writer = try catalog.dataset.makeSegmentWriter()
            for line in String(decoding: original, as: UTF8.self).split(separator: "\n") {
                try writer.append(line: Array(line.replacingOccurrences(of: #""size":"#, with: #""size":1"#).utf8))
            }
            let staged = try writer.finish()
            let forged = try await catalog.dataset.publish(
                staged, as: part.path.replacingOccurrences(of: "/data/", with: "/forged/"))
            staged.removeLocalFile()
            var manifest = checkpoint.manifest
            manifest.files[manifest.files.count - 1] = forged
            fixture.memory.overwrite(
                catalog.dataset.manifestKey(snapshotID: manifest.snapshotID), with: manifest.jsonBytes())
            let report = try await Verifier(archive: archive).run()
            #expect(!report.isIntact)
            let disagreement = report.problems.filter {
                $0.location.hasPrefix("catalog checkpoint \(checkpoint.snapshotID), entry")
            }
            #expect(!disagreement.isEmpty, "\(report.problems)")
            #expect(disagreement.allSatisfy { $0.message.contains("files") && $0.message.contains("catalog rebuild") })

            // 2. A missing part: reads fall back to the manifests with a note.
            fixture.memory.overwrite(forged.path, with: nil)
            let plan = try await archive.plan(to: .latest)
            #expect(plan.planning.checkpoint == nil)
            #expect(plan.planning.notes.count == 1 && plan.planning.notes[0].contains("catalog rebuild"))
            #expect(plan.cuts.map(\.snapshotID) == expected)
            let missing = try await Verifier(archive: archive).run()
            #expect(missing.problems.contains { $0.location.contains(forged.path) || $0.message.contains(forged.path) })

            // 3. Rebuild: a fresh checkpoint from the manifests, used again, and verify is clean.
            let rebuilt = try #require(try await catalog.rebuild())
            #expect(rebuilt.throughSequence == 60 && rebuilt.manifest.files.count == 1)
            let again = try await archive.plan(to: .latest)
            #expect(again.planning.checkpoint == rebuilt.snapshotID && again.planning.notes.isEmpty)
            #expect(again.cuts.map(\.snapshotID) == expected)
            let clean = try await Verifier(archive: archive).run()
            #expect(clean.isIntact, "\(clean.problems)")

            // 4. Checkpoints continue from the rebuilt one.
            try await fixture.append(20, from: 60)
            let more = try await fixture.flush(checkpointEvery: 20)
            #expect(more.checkpoints.count == 1)
            let next = try #require(try await catalog.latest())
            #expect(next.throughSequence == 80)
            #expect(try await archive.plan(to: .latest).planning.manifestsRead == 0)
        }
    }

    @Test func shardsTogetherEqualOneReplay() async throws {
        try await TestArchive.with(bytesPerSnapshot: 4096) { fixture in
            try await fixture.append(3000, streams: 211)
            try await fixture.flush(checkpointEvery: 10)
            let archive = try fixture.archive()
            let plan = try await archive.plan(to: .latest)
            let (full, _) = try await foldRows(archive, plan: plan)
            #expect(full.count == 211)
            for n in [1, 3, 8] {
                var combined: [ProjectedRow] = []
                var sizes: [Int] = []
                for i in 0..<n {
                    let shard = try ReplayShard(index: i, count: n)
                    let (rows, _) = try await foldRows(archive, plan: plan, filter: ReplayFilter(shard: shard))
                    sizes.append(rows.count)
                    combined += rows
                }
                #expect(combined.sorted { $0.key < $1.key } == full, "N = \(n)")
                #expect(sizes.allSatisfy { $0 > 0 }, "every shard of \(n) gets streams: \(sizes)")
            }
            #expect(throws: ArchiverError.self) { try ReplayShard(parsing: "3/3") }
            #expect(throws: ArchiverError.self) { try ReplayShard(parsing: "0/0") }
            #expect(throws: ArchiverError.self) { try ReplayShard(parsing: "1") }
        }
    }

    /// Single-stream and single-category replays read only the files that can hold them (category partition
    /// values and per-file stream Bloom filters) and give the same rows as a full replay filtered afterwards.
    @Test func selectiveReadsTouchAFractionOfTheSegments() async throws {
        try await TestArchive.with(bytesPerSnapshot: 16 * 1024) { fixture in
            try await fixture.append(20_000, streams: 2000, categories: ["account", "order", "invoice", "user"])
            try await fixture.flush(checkpointEvery: 50)
            let archive = try fixture.archive()
            let plan = try await archive.plan(to: .latest)
            #expect(plan.planning.checkpoint != nil)
            let (full, fullStats) = try await foldRows(archive, plan: plan)
            let totalFiles = fullStats.read.files
            #expect(fullStats.read.skippedFiles == 0)

            let stream = full[full.count / 2].key
            let (one, stats) = try await foldRows(archive, plan: plan, filter: ReplayFilter(streams: [stream]))
            #expect(one == full.filter { $0.key == stream })
            #expect(stats.read.files + stats.read.skippedFiles == totalFiles)
            #expect(stats.read.files * 10 < totalFiles, "\(stats.read.files) of \(totalFiles) files read")
            print(
                "single-stream replay over \(fullStats.read.events) events: read \(stats.read.files) of "
                    + "\(totalFiles) segment files (\(stats.read.snapshots) of \(fullStats.read.snapshots) snapshots)")

            let (category, categoryStats) = try await foldRows(
                archive, plan: plan, filter: ReplayFilter(categories: ["order"]))
            #expect(category == full.filter { $0.key.hasPrefix("order-") })
            #expect(categoryStats.read.files * 3 < totalFiles * 2)
            #expect(categoryStats.read.skippedFiles > 0)

            // --verify-chain needs every record: nothing is skipped.
            var fold = MergePatchFold()
            let verified = try await Replayer(
                archive: archive, verifyChain: true, filter: ReplayFilter(streams: [stream])
            )
            .run(&fold, plan: plan)
            #expect(verified.read.files == totalFiles && verified.read.skippedFiles == 0)
            #expect(try fold.rows() == one)
        }
    }

    @Test func streamFilterHasNoFalseNegativesAndRoundTrips() throws {
        let streams = (0..<500).map { "account-\($0)" }
        let filter = StreamFilter(streams: streams)
        #expect(streams.allSatisfy(filter.mayContain))
        let parsed = try #require(StreamFilter(parsing: filter.text))
        #expect(parsed == filter)
        let falsePositives = (500..<10_500).filter { filter.mayContain("account-\($0)") }.count
        #expect(falsePositives < 300, "\(falsePositives) false positives in 10000")
        #expect(StreamFilter(parsing: "x:AAAA") == nil)
        #expect(StreamFilter(parsing: "3:A") == nil)
        #expect(StreamHash.fnv1a64("") == 0xcbf2_9ce4_8422_2325)
        #expect(StreamHash.fnv1a64("a") == 0xaf63_dc4c_8601_ec8c)
        // The flusher builds filters from the streams' FNV hashes: the very same filter.
        for count in [0, 1, 7, 500, 3_000] {
            let some = Array(streams.prefix(count)) + (500..<max(500, count)).map { "order-\($0)" }
            #expect(StreamFilter(streamHashes: Set(some.map(StreamHash.fnv1a64))) == StreamFilter(streams: some))
        }
    }
}
