import Foundation
import Lode
import RawJSON
import Testing

/// G1–G7 and N2–N3: the checked-in trees read with the documented results (LODE_FORMAT.md §9.1).
@Suite struct FixtureReadTests {
    static let ids = ["1767139200000000042", "1767225600123456789", "1767312000000000007"]
    static let g1Records = [
        #"{"id":1,"type":"OrderPlaced"}"#, #"{"id":2,"type":"OrderShipped"}"#,
        #"{"id":3,"note":"café \u003c\u0026\u003e","type":"OrderPaid"}"#,
        #"{"id":4,"type":"OrderPlaced"}"#, #"{"id":5,"type":"OrderCancelled"}"#,
        #"{"amount":12.5,"id":6,"type":"Refund"}"#,
    ]

    @Test func g1DefaultLayoutChain() async throws {
        let store = Fixtures.store("G1-default-jsonl-noop")
        #expect(try await LodeStore.datasets(in: store) == ["events"])
        #expect(try await LodeStore.detectLayout(of: "events", in: store) == .default)
        let dataset = try LodeDataset(store: store, datasetID: "events", compressor: .noop)
        #expect(try await dataset.latestPointer() == Self.ids[2])
        let history = try await dataset.history()
        #expect(history.map(\.snapshotID) == Self.ids)
        #expect(history.map(\.rowCount) == [2, 1, 3])
        #expect(history.map(\.parent) == [nil, Self.ids[0], Self.ids[1]])
        #expect(
            history.map(\.files).map { $0.map(\.path) }
                == Self.ids.map {
                    ["datasets/events/snapshots/\($0)/data/data"]
                })
        #expect(try await readAll(dataset) == Self.g1Records)
        // Exact data bytes and the §3.3 MD5 of the first file.
        let first = try await store.get("datasets/events/snapshots/\(Self.ids[0])/data/data")
        #expect(text(first) == Self.g1Records[0] + "\n" + Self.g1Records[1] + "\n")
        #expect(history[0].files[0].checksum == "a2cb22aa58bb0f8974d90e6948de81fe")
        #expect(try await md5Hex(first) == "a2cb22aa58bb0f8974d90e6948de81fe")
        #expect(history[1].metadata == ["fixture.write": "2"])
        // Cut points: the chain up to the middle snapshot.
        #expect(try await readAll(dataset, upTo: Self.ids[1]) == Array(Self.g1Records[0..<3]))
        let report = try await dataset.check()
        #expect(report.problems == [])
        #expect(report.orphans == [])  // latest and latest.lock are not orphans
        #expect(report.filesChecked == 3)
    }

    @Test(arguments: [("events-gzip", LodeCompressor.gzip(), ".gz"), ("events-zstd", .zstd(), ".zst")])
    func g2CompressedEqualG1(datasetID: String, compressor: LodeCompressor, ext: String) async throws {
        let store = Fixtures.store("G2-compressed")
        #expect(try await LodeStore.datasets(in: store) == ["events-gzip", "events-zstd"])
        let dataset = try LodeDataset(store: store, datasetID: datasetID, compressor: compressor)
        let history = try await dataset.history()
        #expect(history.allSatisfy { $0.compressor == compressor.manifestName })
        #expect(history.allSatisfy { $0.files.allSatisfy { $0.path.hasSuffix("/data/data" + ext) } })
        #expect(try await readAll(dataset) == Self.g1Records)
        for manifest in history {
            for file in manifest.files {
                let stored = try await store.get(file.path)
                #expect(file.checksum == (try await md5Hex(stored)))  // over the compressed bytes
                #expect(file.sizeBytes == Int64(stored.count))
            }
        }
        // MD5 over stored bytes: differs from G1's for the same records.
        #expect(history[0].files[0].checksum != "a2cb22aa58bb0f8974d90e6948de81fe")
        #expect(try await dataset.check().problems == [])
    }

    @Test func g3RawBlob() async throws {
        let store = Fixtures.store("G3-raw-blob")
        let dataset = try LodeDataset(store: store, datasetID: "blobs", codec: .none, compressor: .noop)
        let history = try await dataset.history()
        #expect(history.count == 2)
        for manifest in history {
            #expect(manifest.codec == nil)
            #expect(manifest.rowCount == 1)
            #expect(manifest.files.count == 1)
            #expect(manifest.files[0].path.hasSuffix("/data/blob"))
            #expect(manifest.files[0].sizeBytes == 11)
            #expect(manifest.files[0].checksum == "5eb63bbbe01eeed093cb22bb8f5acdc3")
            #expect(try await dataset.readFile(manifest.files[0], manifest: manifest) == bytes("hello world"))
        }
    }

    @Test func g4HiveLayout() async throws {
        let store = Fixtures.store("G4-hive")
        #expect(try await LodeStore.detectLayout(of: "events", in: store) == .hive(keys: ["day"]))
        #expect(try await LodeStore.datasets(in: store) == ["events"])
        let dataset = try LodeDataset(store: store, datasetID: "events", layout: .hive(keys: ["day"]))
        let head = try #require(try await dataset.head())
        #expect(head.partitioner == "hive")
        #expect(
            head.files.map(\.path) == [
                "datasets/events/partitions/day=2025-12-31/segments/\(Self.ids[0])/data/data.zst",
                "datasets/events/partitions/day=2026-01-01/segments/\(Self.ids[0])/data/data.zst",
                "datasets/events/partitions/day=a%20b%2Fc/segments/\(Self.ids[0])/data/data.zst",
            ])
        let canonical = try await store.get("datasets/events/segments/\(Self.ids[0])/manifest.json")
        for partition in ["day=2025-12-31", "day=2026-01-01", "day=a%20b%2Fc"] {
            let copy = try await store.get(
                "datasets/events/partitions/\(partition)/segments/\(Self.ids[0])/manifest.json")
            #expect(copy == canonical)
        }
        #expect(LodeLayout.escapePartitionValue("a b/c") == "a%20b%2Fc")
        #expect(
            try await readAll(dataset) == [
                #"{"day":"2025-12-31","id":1}"#, #"{"day":"2025-12-31","id":2}"#, #"{"day":"2026-01-01","id":3}"#,
                #"{"day":"a b/c","id":4}"#,
            ])
        #expect(try await dataset.check().problems == [])
    }

    @Test func g5FlatLayout() async throws {
        let store = Fixtures.store("G5-flat")
        await expectLodeError(.datasetsNotModeled) { try await LodeStore.datasets(in: store, layout: .flat) }
        await expectLodeError(.datasetsNotModeled) { try await LodeStore.datasets(in: store) }
        #expect(
            try await LodeStore.discover(in: store) == [
                LodeStore.DiscoveredDataset(datasetID: "events", layout: .flat)
            ])
        let dataset = try LodeDataset(store: store, datasetID: "events", layout: .flat, compressor: .noop)
        #expect(dataset.latestPointerKey == "events/latest")
        #expect(dataset.manifestKey(snapshotID: "1") == "events/1/manifest.json")
        #expect(try await dataset.history().map(\.snapshotID) == Array(Self.ids[0..<2]))
        #expect(try await readAll(dataset) == Array(Self.g1Records[0..<3]))
        #expect(try await dataset.check().problems == [])
    }

    @Test func g6EmptySnapshots() async throws {
        let store = Fixtures.store("G6-empty")
        let nullFiles = try LodeDataset(store: store, datasetID: "empty-write", compressor: .noop)
        let head = try #require(try await nullFiles.head())
        #expect(head.files == [])
        #expect(head.rowCount == 0)
        #expect(try await readAll(nullFiles) == [])
        let emptyStream = try LodeDataset(store: store, datasetID: "empty-stream", compressor: .noop)
        let streamHead = try #require(try await emptyStream.head())
        #expect(streamHead.files.count == 1)
        #expect(streamHead.files[0].sizeBytes == 0)
        #expect(streamHead.files[0].checksum == "d41d8cd98f00b204e9800998ecf8427e")
        #expect(try await readAll(emptyStream) == [])
    }

    @Test func g7VolumeCumulativeBlocks() async throws {
        let store = Fixtures.store("G7-volume")
        let volume = try LodeVolume(store: store, volumeID: "agg-state")
        let ids = try await volume.snapshotIDs()
        #expect(ids == ["1767225600500000000", "1767225601000000000", "1767225602000000000"])
        let head = try #require(try await volume.head())
        #expect(head.snapshotID == ids[2])
        #expect(head.blocks.map(\.offset) == [0, 10, 50])  // cumulative and sorted
        let second = try await volume.manifest(ids[1])
        #expect(second.blocks.map(\.offset) == [0, 50])
        #expect(second.parentSnapshotID == ids[0])

        #expect(
            try await volume.read(offset: 0, length: 10, in: second) == Array(repeating: UInt8(ascii: "A"), count: 10))
        #expect(
            try await volume.read(offset: 55, length: 5, in: second) == Array(repeating: UInt8(ascii: "B"), count: 5))
        // The gap [10, 50) is missing in the second snapshot and filled in the third.
        await expectLodeError(.rangeMissing) { try await volume.read(offset: 5, length: 10, in: second) }
        let filled = try await volume.read(offset: 5, length: 60, in: head)
        #expect(
            text(filled) == String(repeating: "A", count: 5) + String(repeating: "C", count: 40)
                + String(repeating: "B", count: 15))
        // Never zero-filled past the last block.
        await expectLodeError(.rangeMissing) { try await volume.read(offset: 60, length: 20, in: head) }
        #expect(head.covers(offset: 0, length: 70))
        #expect(!head.covers(offset: 0, length: 71))
    }

    // MARK: N2 — partial and odd states (§4.6)

    @Test func n2OrphanDataIsInvisibleAndListed() async throws {
        let store = Fixtures.store("N2-orphan-data")
        let dataset = try LodeDataset(store: store, datasetID: "events", compressor: .noop)
        #expect(try await dataset.head()?.snapshotID == Self.ids[0])
        #expect(try await readAll(dataset) == Array(Self.g1Records[0..<2]))
        let report = try await dataset.check()
        #expect(report.problems == [])
        #expect(report.orphans == ["datasets/events/snapshots/\(Self.ids[1])/data/data"])
    }

    @Test func n2PointerToMissingManifestFallsBackToScan() async throws {
        let store = Fixtures.store("N2-pointer-to-missing-manifest")
        let dataset = try LodeDataset(store: store, datasetID: "events", compressor: .noop)
        #expect(try await dataset.latestPointer() == Self.ids[2])
        #expect(try await dataset.head()?.snapshotID == Self.ids[1])
        #expect(try await readAll(dataset) == Array(Self.g1Records[0..<3]))
        let report = try await dataset.check()
        #expect(report.problems.map(\.code) == [.notFound])
        #expect(report.problems.first?.key == "datasets/events/latest")
        #expect(report.orphans == ["datasets/events/snapshots/\(Self.ids[2])/data/data"])
        // The reader did not touch the pointer.
        #expect(try await store.get("datasets/events/latest") == bytes(Self.ids[2]))
    }

    @Test func n2EmptyPointerScans() async throws {
        let dataset = try LodeDataset(store: Fixtures.store("N2-empty-pointer"), datasetID: "events", compressor: .noop)
        #expect(try await dataset.latestPointer() == nil)
        #expect(try await dataset.head()?.snapshotID == Self.ids[1])
    }

    @Test func n2PointerWithNewlineIsTrimmedAndTheChainContinuesPastIt() async throws {
        let dataset = try LodeDataset(
            store: Fixtures.store("N2-pointer-newline"), datasetID: "events", compressor: .noop)
        #expect(try await dataset.latestPointer() == Self.ids[0])
        // An old pointer hides nothing: the head is the newest snapshot on the chain through it ...
        #expect(try await dataset.head()?.snapshotID == Self.ids[1])
        #expect(try await dataset.history().map(\.snapshotID) == [Self.ids[0], Self.ids[1]])
        let resolution = try await dataset.resolveHead()
        #expect(resolution.pointer == Self.ids[0])
        #expect(resolution.pointerIsBehind)
        #expect(
            resolution.pointerBehindDescription
                == "the latest pointer was rolled back: it names snapshot \(Self.ids[0]), but the chain continues "
                + "to snapshot \(Self.ids[1])")
        // The pointer's own snapshot, without a listing.
        #expect(try await dataset.pointedSnapshot()?.snapshotID == Self.ids[0])
        // ... but check reports the whitespace and the snapshot beyond the head.
        let report = try await dataset.check()
        #expect(Set(report.problems.map(\.code)) == [.corruptData, .brokenChain])
        #expect(report.problems.contains { $0.key == "datasets/events/snapshots/\(Self.ids[1])/manifest.json" })
    }

    @Test func n2TruncatedManifestIsReportedNeverGuessed() async throws {
        let store = Fixtures.store("N2-truncated-manifest")
        let dataset = try LodeDataset(store: store, datasetID: "events", compressor: .noop)
        let key = "datasets/events/snapshots/\(Self.ids[1])/manifest.json"
        let error = await expectLodeError(.corruptManifest) { try await dataset.head() }
        #expect(error?.key == key)
        #expect(error?.message.contains(key) == true)
        await expectLodeError(.corruptManifest) { try await dataset.history() }
        await expectLodeError(.corruptManifest) { try await dataset.allManifests() }
        // The intact snapshot is still readable by ID.
        #expect(try await dataset.manifest(Self.ids[0]).rowCount == 2)
        let report = try await dataset.check()
        #expect(report.problems.contains { $0.code == .corruptManifest && $0.key == key })
    }

    @Test func n2HiveCanonicalOnlyIsTheCommit() async throws {
        let store = Fixtures.store("N2-hive-canonical-only")
        let dataset = try LodeDataset(store: store, datasetID: "events", layout: .hive(keys: ["day"]))
        #expect(try await dataset.head()?.files.count == 3)
        #expect(try await readAll(dataset).count == 4)
        let report = try await dataset.check()
        #expect(report.problems.count == 2)
        #expect(report.problems.allSatisfy { $0.code == .notFound && $0.key?.contains("/partitions/day=") == true })
    }

    @Test func n2ForkIsDetected() async throws {
        let dataset = try LodeDataset(store: Fixtures.store("N2-fork"), datasetID: "events", compressor: .noop)
        let error = await expectLodeError(.forkDetected) { try await dataset.history() }
        #expect(error?.message.contains(Self.ids[0]) == true)
        // Choosing a branch explicitly is allowed.
        let branch = try await dataset.history(upTo: Self.ids[2], allowForks: true)
        #expect(branch.map(\.snapshotID) == [Self.ids[0], Self.ids[2]])
        let report = try await dataset.check()
        #expect(report.problems.contains { $0.code == .forkDetected })
    }

    // MARK: N3 — line framing

    @Test(arguments: ["crlf", "no-final-newline", "blank-line"])
    func n3LineFraming(datasetID: String) async throws {
        let dataset = try LodeDataset(
            store: Fixtures.store("N3-line-framing"), datasetID: datasetID, compressor: .noop)
        #expect(try await readAll(dataset) == [#"{"id":1}"#, #"{"id":2}"#])
    }
}
