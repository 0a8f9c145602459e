import Foundation
import Lode
import Testing

/// The §4.7 write protocol: immutability, crash windows, CAS semantics, parent resolution, forks.
@Suite struct CommitProtocolTests {
    static func dataset(_ store: any ObjectStore, compressor: LodeCompressor = .zstd()) throws -> LodeDataset {
        try LodeDataset(
            store: store,
            configuration: .init(
                datasetID: "orders", compressor: compressor, pointerSettleAttempts: 2,
                pointerSettleDelay: .milliseconds(20)))
    }

    static func records(_ range: Range<Int>) -> [[UInt8]] {
        range.map { bytes(#"{"n":\#($0)}"#) }
    }

    /// Stages and publishes one data object for `id` without committing it.
    static func stageData(_ dataset: LodeDataset, id: String, _ range: Range<Int>) async throws -> FileRef {
        let writer = try dataset.makeSegmentWriter()
        for record in records(range) { try writer.append(line: record) }
        let staged = try await writer.finish()
        defer { staged.removeLocalFile() }
        return try await dataset.publish(staged, as: dataset.dataFileKey(snapshotID: id))
    }

    @Test(arguments: StoreKind.allCases)
    func committedObjectsAreImmutable(kind: StoreKind) async throws {
        try await kind.withStore { (store: any ObjectStore) async throws in
            let dataset = try Self.dataset(store)
            let manifest = try await dataset.write(records: Self.records(0..<3))
            let manifestKey = dataset.manifestKey(snapshotID: manifest.snapshotID)
            let before = try await store.get(manifestKey)
            let dataBefore = try await store.get(manifest.files[0].path)
            await expectLodeError(.pathExists) { try await store.put(manifestKey, bytes("{}")) }
            await expectLodeError(.pathExists) { try await store.put(manifest.files[0].path, [0]) }
            // Re-committing the same snapshot ID is refused and changes nothing (pointer included).
            let error = await expectLodeError(.pathExists) {
                try await dataset.commit(snapshotID: manifest.snapshotID, files: manifest.files, rowCount: 3)
            }
            #expect(error?.key == manifestKey)
            #expect(try await store.get(manifestKey) == before)
            #expect(try await store.get(manifest.files[0].path) == dataBefore)
            #expect(try await dataset.latestPointer() == manifest.snapshotID)
        }
    }

    /// Crash after the data Put, before the pointer and the manifest: readers see the previous snapshot.
    @Test(arguments: StoreKind.allCases)
    func dataWithoutManifestIsInvisible(kind: StoreKind) async throws {
        try await kind.withStore { (store: any ObjectStore) async throws in
            let dataset = try Self.dataset(store)
            let first = try await dataset.write(records: Self.records(0..<2))
            let orphanID = SnapshotIDs.next()
            let ref = try await Self.stageData(dataset, id: orphanID, 2..<5)
            #expect(try await dataset.head() == first)
            #expect(try await dataset.history() == [first])
            #expect(try await readAll(dataset).count == 2)
            let report = try await dataset.check()
            #expect(report.problems == [])
            #expect(report.orphans == [ref.path])
            // The retry of the same intent reuses the object and commits it.
            let again = try await Self.stageData(dataset, id: orphanID, 2..<5)
            #expect(again == ref)
            let second = try await dataset.commit(snapshotID: orphanID, files: [ref], rowCount: 3)
            #expect(second.parent == first.snapshotID)
            #expect(try await readAll(dataset).count == 5)
            #expect(try await dataset.check().orphans == [])
        }
    }

    /// Crash after the pointer CAS, before the manifest: readers scan and see the previous snapshot; the retry of
    /// the same intent commits with the right parent; another writer's commit is not blocked either.
    @Test(arguments: StoreKind.allCases)
    func pointerAheadOfManifest(kind: StoreKind) async throws {
        try await kind.withStore { (store: any ObjectStore) async throws in
            let dataset = try Self.dataset(store)
            let first = try await dataset.write(records: Self.records(0..<2))
            let crashedID = SnapshotIDs.next()
            let ref = try await Self.stageData(dataset, id: crashedID, 2..<4)
            try await store.compareAndSwap(dataset.latestPointerKey, expected: first.snapshotID, replacement: crashedID)

            #expect(try await dataset.latestPointer() == crashedID)
            #expect(try await dataset.head() == first)
            #expect(try await dataset.history() == [first])
            #expect(try await store.get(dataset.latestPointerKey) == bytes(crashedID))  // readers never self-heal

            let resumed = try await dataset.commit(
                snapshotID: crashedID, files: [ref], rowCount: 2, expectedParent: first.snapshotID)
            #expect(resumed.parent == first.snapshotID)
            #expect(try await dataset.history().map(\.snapshotID) == [first.snapshotID, crashedID])
        }
    }

    @Test(arguments: StoreKind.allCases)
    func anotherWriterCommitsPastADeadPointer(kind: StoreKind) async throws {
        try await kind.withStore { (store: any ObjectStore) async throws in
            let dataset = try Self.dataset(store)
            let first = try await dataset.write(records: Self.records(0..<2))
            let deadID = SnapshotIDs.next()
            try await store.compareAndSwap(dataset.latestPointerKey, expected: first.snapshotID, replacement: deadID)
            let clock = ContinuousClock()
            let start = clock.now
            let next = try await dataset.write(records: Self.records(2..<3))
            #expect(clock.now - start >= .milliseconds(40))  // waited for a possible in-flight commit first
            #expect(next.parent == first.snapshotID)
            #expect(try await dataset.latestPointer() == next.snapshotID)
            #expect(try await dataset.history().map(\.snapshotID) == [first.snapshotID, next.snapshotID])
        }
    }

    @Test(arguments: StoreKind.allCases)
    func expectedParentGuardsTheCommit(kind: StoreKind) async throws {
        try await kind.withStore { (store: any ObjectStore) async throws in
            let dataset = try Self.dataset(store)
            let id1 = SnapshotIDs.next()
            let ref1 = try await Self.stageData(dataset, id: id1, 0..<1)
            await expectLodeError(.snapshotConflict) {
                try await dataset.commit(snapshotID: id1, files: [ref1], rowCount: 1, expectedParent: "123")
            }
            #expect(try await dataset.latestPointer() == nil)  // nothing moved
            let first = try await dataset.commit(snapshotID: id1, files: [ref1], rowCount: 1, expectedParent: "")
            let id2 = SnapshotIDs.next()
            let ref2 = try await Self.stageData(dataset, id: id2, 1..<2)
            let error = await expectLodeError(.snapshotConflict) {
                try await dataset.commit(snapshotID: id2, files: [ref2], rowCount: 1, expectedParent: "")
            }
            #expect(error?.actual == first.snapshotID)
            let second = try await dataset.commit(
                snapshotID: id2, files: [ref2], rowCount: 1, expectedParent: first.snapshotID)
            #expect(second.parent == first.snapshotID)
        }
    }

    /// Concurrent writers on one dataset: every commit either lands on a linear chain or fails with a conflict.
    @Test(arguments: StoreKind.allCases)
    func concurrentWritersNeverFork(kind: StoreKind) async throws {
        try await kind.withStore { (store: any ObjectStore) async throws in
            let dataset = try Self.dataset(store)
            let outcomes = try await withThrowingTaskGroup(of: Bool.self) { group in
                for writer in 0..<8 {
                    group.addTask {
                        do {
                            _ = try await dataset.write(records: Self.records(writer * 10..<writer * 10 + 3))
                            return true
                        } catch let error as LodeError where error.code == .snapshotConflict {
                            return false
                        }
                    }
                }
                return try await group.reduce(into: [Bool]()) { $0.append($1) }
            }
            let committed = outcomes.filter { $0 }.count
            #expect(committed >= 1)
            let history = try await dataset.history()
            #expect(history.count == committed)
            #expect(try await dataset.allManifests().count == committed)
            let report = try await dataset.check()
            #expect(report.problems == [])
        }
    }

    @Test func pointerWithNewlineIsReplacedByABareID() async throws {
        let store = MemoryStore()
        let dataset = try Self.dataset(store)
        let first = try await dataset.write(records: Self.records(0..<1))
        store.overwrite(dataset.latestPointerKey, with: bytes(first.snapshotID + "\n"))
        let second = try await dataset.write(records: Self.records(1..<2))
        #expect(second.parent == first.snapshotID)
        #expect(try await store.get(dataset.latestPointerKey) == bytes(second.snapshotID))
    }

    @Test func componentsMustMatchTheParent() async throws {
        let store = MemoryStore()
        _ = try await Self.dataset(store, compressor: .zstd()).write(records: Self.records(0..<1))
        let gzip = try Self.dataset(store, compressor: .gzip())
        let error = await expectLodeError(.componentMismatch) { try await gzip.write(records: Self.records(1..<2)) }
        #expect(error?.message.contains("zstd") == true)
    }

    @Test func publishReusesOnlyAnIdenticalObject() async throws {
        let store = MemoryStore()
        let dataset = try Self.dataset(store)
        let id = SnapshotIDs.next()
        let ref = try await Self.stageData(dataset, id: id, 0..<10)
        #expect(try await Self.stageData(dataset, id: id, 0..<10) == ref)
        let error = await expectLodeError(.pathExists) { try await Self.stageData(dataset, id: id, 0..<11) }
        #expect(error?.key == ref.path)
        #expect(try await store.get(ref.path).count == Int(ref.sizeBytes))
    }

    @Test func commitRejectsBadArguments() async throws {
        let dataset = try Self.dataset(MemoryStore())
        let good = FileRef(
            path: "datasets/orders/snapshots/1/data/data.zst", sizeBytes: 1, checksum: String(repeating: "a", count: 32)
        )
        await expectLodeError(.invalidConfiguration) {
            try await dataset.commit(snapshotID: "abc", files: [good], rowCount: 1)
        }
        await expectLodeError(.invalidConfiguration) {
            try await dataset.commit(snapshotID: "1", files: [FileRef(path: good.path, sizeBytes: 1)], rowCount: 1)
        }
        await expectLodeError(.invalidConfiguration) {
            try await dataset.commit(snapshotID: "1", files: [good, good], rowCount: 1)
        }
        await expectLodeError(.invalidConfiguration) {
            try await dataset.commit(snapshotID: "1", files: [good], rowCount: 1, minTimestamp: "yesterday")
        }
        await expectLodeError(.invalidConfiguration) {
            try await dataset.commit(snapshotID: "1", files: [good], rowCount: 1, partitionPaths: ["day=1"])
        }
        await expectLodeError(.invalidPath) {
            try await dataset.commit(
                snapshotID: "1", files: [FileRef(path: "../x", sizeBytes: 1, checksum: good.checksum)], rowCount: 1)
        }
        #expect(try await dataset.head() == nil)
    }

    @Test func invalidIDsAndConfigurations() async throws {
        for id in ["", "a/b", "..", "-x", ".hidden", String(repeating: "a", count: 129), "a b", "é"] {
            #expect(throws: LodeError.self) { try LodeDataset(store: MemoryStore(), datasetID: id) }
        }
        #expect(throws: LodeError.self) {
            try LodeDataset(store: MemoryStore(), datasetID: "x", layout: .hive(keys: ["day"]), codec: .none)
        }
        let hiveWithoutKeys = try LodeDataset(store: MemoryStore(), datasetID: "x", layout: .hive(keys: []))
        await expectLodeError(.invalidConfiguration) {
            try await hiveWithoutKeys.write(records: [bytes("1")], partitionValues: { _ in [] })
        }
        let hive = try LodeDataset(store: MemoryStore(), datasetID: "x", layout: .hive(keys: ["day"]))
        await expectLodeError(.invalidConfiguration) { try await hive.write(records: [bytes("1")]) }
        let plain = try LodeDataset(store: MemoryStore(), datasetID: "x")
        await expectLodeError(.invalidRecord) { try await plain.write(records: [bytes("{not json")]) }
        await expectLodeError(.invalidRecord) { try await plain.write(records: [bytes("{}\n{}")]) }
        await expectLodeError(.invalidConfiguration) { try await plain.write(blob: [1]) }
    }
}
