import ArchiveFormat
import ArchiverCore
import Foundation
import Lode
import RawJSON
import Testing

@Suite struct CatalogTests {
    /// The issue's must-show: 20k snapshots. Planning a replay reads the newest checkpoint's manifest, the
    /// manifests after it and at most one part (none for the latest cut), never a listing; the reader then
    /// decodes each part once, a batch at a time; and everything equals what a full chain walk gives.
    @Test func replayOfTwentyThousandSnapshotsReadsOneCheckpointPlusTheTail() async throws {
        try await TestArchive.with { fixture in
            try await fixture.append(10_000)
            let first = try await fixture.flush(checkpointEvery: 1000)
            try await fixture.append(1, from: 10_000)
            let named = try await fixture.flush(checkpointEvery: 1000, cutName: "mid-year")
            #expect(named.snapshotIDs.count == 1)
            try await fixture.append(9_999, from: 10_001)
            let rest = try await fixture.flush(checkpointEvery: 1000)
            #expect(first.snapshotIDs.count + named.snapshotIDs.count + rest.snapshotIDs.count == 20_000)
            #expect(first.checkpoints.count + rest.checkpoints.count == 20)
            #expect((first.notes + rest.notes).isEmpty, "\(first.notes + rest.notes)")
            try await fixture.append(37, from: 20_000)
            let second = try await fixture.flush(checkpointEvery: 1000)
            #expect(second.snapshotIDs.count == 37 && second.checkpoints.isEmpty)

            let counting = CountingStore(base: fixture.memory)
            let archive = try fixture.archive(over: counting)
            let plan = try await archive.plan(to: .latest)
            let checkpoint = try #require(try await ArchiveCatalog(archive: fixture.archive()).latest())
            #expect(checkpoint.format == ArchiveCatalog.formatVersion)
            #expect(plan.planning.checkpoint == checkpoint.snapshotID)
            #expect(plan.planning.fromCheckpoint == 20_000 && plan.planning.manifestsRead == 37)
            #expect(plan.count == 20_037 && plan.last?.snapshotID == second.snapshotIDs.last)
            // Parts merge like a binary counter up to 4096 entries: 20 intervals of 1000 → 5 parts of 4000.
            #expect(checkpoint.manifest.files.count == 5)
            let eventsManifests = counting.count("get", prefix: "datasets/events/segments/")
            // The events and catalog heads each list the snapshots after their pointer's (none here): a rolled-back
            // pointer would otherwise hide them. Each listing starts after the pointer, whatever the archive's age.
            #expect(counting.count("list") == 2)
            #expect(eventsManifests == 37)
            // catalog: pointer and manifest; no part.
            #expect(counting.count("get", prefix: "datasets/catalog/") == 2)
            // + the events pointer and the generations pointer (absent: the archive was never compacted).
            #expect(counting.count("get", prefix: "datasets/generations/latest") == 1)
            #expect(counting.total == eventsManifests + 2 + 2 + 2)
            print("plan of 20,037 snapshots with a checkpoint: \(counting.total) store operations")

            // The reader's stream decodes each part once and reads no manifest.
            counting.reset()
            let streamed = try await plan.allCuts()
            #expect(counting.count("get", prefix: "datasets/catalog/") == 5 && counting.total == 5)

            counting.reset()
            let walked = try await archive.plan(to: .latest, source: .manifests)
            print("plan of 20,037 snapshots by chain walk: \(counting.total) store operations")
            #expect(counting.total > 20_037)
            let walkedCuts = try await walked.allCuts()
            #expect(walkedCuts.map(\.manifest) == streamed.map(\.manifest))
            #expect(walkedCuts.map(\.facts) == streamed.map(\.facts))

            // Every other selector inside the checkpoint reads the one part that holds the cut.
            let middle = walkedCuts[10_000]
            #expect(middle.name == "mid-year")
            let selectors: [CutSelector] = [
                .name("mid-year"), .snapshot(walkedCuts[5_555].snapshotID),
                .position(walkedCuts[12_345].facts.lastPosition - 1),
                .time(walkedCuts[17_000].facts.minRecordedAtNanos), .snapshot(walkedCuts[20_010].snapshotID),
            ]
            for selector in selectors {
                counting.reset()
                let viaCatalog = try await archive.plan(to: selector)
                #expect(counting.count("get", prefix: "datasets/catalog/") <= 3, "\(selector)")
                #expect(counting.count("get", prefix: "datasets/events/segments/") == 37, "\(selector)")
                #expect(viaCatalog.planning.partsRead <= 1, "\(selector)")
                let viaManifests = try await archive.plan(to: selector, source: .manifests)
                #expect(viaCatalog.last?.snapshotID == viaManifests.last?.snapshotID, "\(selector)")
                #expect(viaCatalog.count == viaManifests.count && viaCatalog.lastPosition == viaManifests.lastPosition)
                #expect(viaCatalog.maxPosition == viaManifests.maxPosition)
                #expect(viaCatalog.maxRecordedAt == viaManifests.maxRecordedAt)
                #expect(
                    try await viaCatalog.allCuts().map(\.snapshotID)
                        == walkedCuts.prefix(viaManifests.count).map(\.snapshotID))
            }
            #expect(try await archive.plan(to: .name("mid-year")).count == 10_001)
            await #expect(throws: ArchiverError.self) { try await archive.plan(to: .name("mid-yaer")) }

            counting.reset()
            let (rows, stats) = try await foldRows(archive, plan: plan)
            #expect(counting.count("get", prefix: "datasets/catalog/") == 5)
            let (walkedRows, _) = try await foldRows(archive, plan: walked)
            #expect(rows == walkedRows)
            #expect(rows.count == 50)
            #expect(stats.read.events == 20_037 && stats.read.notes.isEmpty)

            // A replay that starts after a position (an aggregate snapshot) passes the parts below it by their
            // summaries: only the parts from sequence 12001 on are read.
            let start = walkedCuts[13_000].facts.lastPosition
            var fold = MergePatchFold()
            counting.reset()
            let partial = try await Replayer(archive: archive).run(&fold, plan: plan, after: start)
            #expect(counting.count("get", prefix: "datasets/catalog/") == 2)
            var walkedFold = MergePatchFold()
            let walkedPartial = try await Replayer(archive: archive).run(&walkedFold, plan: walked, after: start)
            #expect(try fold.rows() == walkedFold.rows())
            #expect(partial.read.events == walkedPartial.read.events && partial.read.events == 20_037 - 13_001)
        }
    }

    /// Every kind of selector, inside the checkpoint and after it, with a current-format checkpoint, a format-1
    /// one (no part summaries: parts are read to find out) and the checkpoint the next flush writes over it.
    @Test func everyCutSelectorResolvesTheSameWithAndWithoutTheCatalog() async throws {
        try await TestArchive.with { fixture in
            try await fixture.append(60)
            try await fixture.flush(checkpointEvery: 25)
            try await fixture.append(1, from: 60)
            try await fixture.flush(checkpointEvery: 25, cutName: "early")
            try await fixture.append(1, from: 61)
            try await fixture.flush(checkpointEvery: 25, cutName: "superseded")
            try await fixture.append(57, from: 62)
            try await fixture.flush(checkpointEvery: 25)
            try await fixture.append(1, from: 119)
            try await fixture.flush(checkpointEvery: 25, cutName: "reused")
            try await fixture.append(10, from: 120)
            try await fixture.flush(checkpointEvery: 25)
            let archive = try fixture.archive()
            let catalog = try ArchiveCatalog(archive: archive)
            let all = try await archive.plan(to: .latest, source: .manifests).allCuts()
            #expect(all.count == 130 && all[60].name == "early" && all[119].name == "reused")
            #expect(try await catalog.latest()?.throughSequence == 125)

            func check(format: String) async throws {
                let selectors: [CutSelector] = [
                    .latest, .name("early"), .name("reused"), .snapshot(all[10].snapshotID),
                    .snapshot(all[120].snapshotID), .snapshot(all[128].snapshotID), .position(77),
                    .position(all[127].facts.lastPosition), .time(all[60].facts.maxRecordedAtNanos),
                    .time(all[128].facts.maxRecordedAtNanos),
                ]
                for selector in selectors {
                    let viaCatalog = try await archive.plan(to: selector)
                    let viaManifests = try await archive.plan(to: selector, source: .manifests)
                    #expect(viaCatalog.planning.checkpoint != nil, "\(selector)")
                    #expect(viaCatalog.planning.notes.allSatisfy { $0.contains("format 1") })
                    #expect(
                        try await viaCatalog.allCuts().map(\.snapshotID)
                            == viaManifests.allCuts().map(\.snapshotID), "\(selector), format \(format)")
                    #expect(viaCatalog.last?.snapshotID == viaManifests.last?.snapshotID)
                    #expect(
                        viaCatalog.count == viaManifests.count && viaCatalog.lastPosition == viaManifests.lastPosition)
                    if format != ArchiveCatalog.formatVersion1 { #expect(viaCatalog.planning.partsRead <= 1) }
                }
                for unknown: CutSelector in [
                    .name("late"), .snapshot("1234567890123456789"), .time(0),
                    .position(all[129].facts.lastPosition + 1),
                ] {
                    for source in [CutPointSource.catalog, .manifests] {
                        do {
                            _ = try await archive.plan(to: unknown, source: source)
                            Issue.record("\(unknown) resolved from \(source)")
                        } catch let error as ArchiverError {
                            #expect(error.code == .unknownCut, "\(unknown), \(source): \(error)")
                        }
                    }
                }
                let report = try await Verifier(archive: archive).run()
                #expect(report.isIntact, "\(report.problems)")
            }
            try await check(format: ArchiveCatalog.formatVersion)

            // The same checkpoint as format 1 wrote it: no part summaries.
            var manifest = try #require(try await catalog.latest()).manifest
            #expect(manifest.metadata["archiver.parts"] != nil)
            manifest.metadata["archiver.catalog_format"] = .string(ArchiveCatalog.formatVersion1)
            manifest.metadata["archiver.parts"] = nil
            fixture.memory.overwrite(
                catalog.dataset.manifestKey(snapshotID: manifest.snapshotID), with: manifest.jsonBytes())
            #expect(try await catalog.latest()?.format == ArchiveCatalog.formatVersion1)
            let old = try await archive.plan(to: .name("early"))
            #expect(old.planning.notes.count == 1 && old.planning.notes[0].contains("format 1"))
            #expect(old.planning.partsRead == 2)
            try await check(format: ArchiveCatalog.formatVersion1)

            // The next checkpoint is of the current format again, every part summarised.
            try await fixture.append(30, from: 130)
            let flushed = try await fixture.flush(checkpointEvery: 25)
            #expect(flushed.checkpoints.count == 1 && flushed.notes.isEmpty)
            let upgraded = try #require(try await catalog.latest())
            #expect(upgraded.format == ArchiveCatalog.formatVersion && upgraded.throughSequence == 150)
            guard case .array(let summaries)? = upgraded.manifest.metadata["archiver.parts"] else {
                Issue.record("no archiver.parts")
                return
            }
            #expect(summaries.count == upgraded.manifest.files.count)
            #expect(try await archive.plan(to: .name("early")).planning.partsRead == 1)
            let report = try await Verifier(archive: archive).run()
            #expect(report.isIntact, "\(report.problems)")

            // A summary that lies (a cut name taken out) misleads readers, so verify compares it too.
            var forged = upgraded.manifest
            guard case .object(var first) = summaries[0] else { return }
            first["names"] = .array([])
            forged.metadata["archiver.parts"] = .array([.object(first)] + summaries.dropFirst())
            fixture.memory.overwrite(
                catalog.dataset.manifestKey(snapshotID: forged.snapshotID), with: forged.jsonBytes())
            let lie = try await Verifier(archive: archive).run()
            #expect(lie.problems.count == 1 && lie.problems[0].message.contains("summary"), "\(lie.problems)")
            #expect(lie.problems.first?.location.contains(upgraded.manifest.files[0].path) == true)
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
            let expected = try await archive.plan(to: .latest, source: .manifests).allCuts().map(\.snapshotID)

            // 1. An entry that lies (another size for every file of the newest part), in a part whose MD5 the
            //    catalog manifest records correctly: only comparing with the manifests can find it.
            let part = checkpoint.manifest.files.last!
            let original = try await catalog.dataset.readFile(part, manifest: checkpoint.manifest)
            let writer = try catalog.dataset.makeSegmentWriter()
            for line in String(decoding: original, as: UTF8.self).split(separator: "\n") {
                try writer.append(line: Array(line.replacingOccurrences(of: #""size":"#, with: #""size":1"#).utf8))
            }
            let staged = try await writer.finish()
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

            // 2. A missing part: planning the latest cut reads no part, and the reader, reaching it, reads the
            //    snapshots it should have listed from their manifests instead, with a note. A selector whose
            //    part is missing falls back when planning.
            fixture.memory.overwrite(forged.path, with: nil)
            let plan = try await archive.plan(to: .latest)
            #expect(plan.planning.checkpoint == checkpoint.snapshotID && plan.planning.notes.isEmpty)
            var stream = plan.stream()
            var streamed: [String] = []
            while let cut = try await stream.next() { streamed.append(cut.snapshotID) }
            #expect(streamed == expected)
            let notes = await stream.notes
            #expect(notes.count == 1 && notes[0].contains("catalog rebuild"), "\(notes)")
            let (_, replayed) = try await foldRows(archive, plan: plan)
            #expect(replayed.read.notes.count == 1 && replayed.read.events == 60)
            let resolution = try await archive.resolveCutPoints()
            #expect(resolution.cuts.map(\.snapshotID) == expected && resolution.info.notes.count == 1)
            let toLast = try await archive.plan(to: .snapshot(expected[59]))
            #expect(toLast.planning.checkpoint == nil && toLast.planning.notes.count == 1)
            #expect(try await toLast.allCuts().map(\.snapshotID) == expected)
            let missing = try await Verifier(archive: archive).run()
            #expect(missing.problems.contains { $0.location.contains(forged.path) || $0.message.contains(forged.path) })

            // 3. Rebuild: a fresh checkpoint from the manifests, used again, and verify is clean.
            let rebuilt = try #require(try await catalog.rebuild())
            #expect(rebuilt.throughSequence == 60 && rebuilt.manifest.files.count == 1)
            let again = try await archive.plan(to: .latest)
            #expect(again.planning.checkpoint == rebuilt.snapshotID && again.planning.notes.isEmpty)
            #expect(try await again.allCuts().map(\.snapshotID) == expected)
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
