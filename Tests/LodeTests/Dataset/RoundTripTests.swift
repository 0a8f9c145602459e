import Foundation
import Gzip
import Lode
import RawJSON
import Testing
import Zstd

/// Write → read through every layout × compressor × store, byte-exact.
@Suite struct RoundTripTests {
    struct Combination: CustomTestStringConvertible, Sendable {
        var layout: LodeLayout
        var compressor: LodeCompressor
        var store: StoreKind
        var testDescription: String { "\(layout) \(compressor.manifestName) \(store.rawValue)" }
    }

    static let combinations: [Combination] = [LodeLayout.default, .hive(keys: ["day"]), .flat].flatMap { layout in
        [LodeCompressor.noop, .gzip(), .zstd()].flatMap { compressor in
            StoreKind.allCases.map { Combination(layout: layout, compressor: compressor, store: $0) }
        }
    }

    /// A record whose `day` selects its hive partition.
    static func record(_ index: Int, day: Int, padding: Int = 0) -> [UInt8] {
        let pad = String(repeating: "x", count: padding)
        return bytes(#"{"day":"2026-01-0\#(day)","i":\#(index),"note":"é <&> \u2028","pad":"\#(pad)"}"#)
    }

    static func day(of record: [UInt8]) throws -> [String] {
        guard case .object(let object) = try JSONValue.parseLikeGo(record), case .string(let day)? = object["day"]
        else {
            throw LodeError(.invalidRecord, "no day")
        }
        return [day]
    }

    /// The order forEachRecord yields: files sorted by path (hive: by partition), records in order within a file.
    static func expectedOrder(_ records: [[UInt8]], layout: LodeLayout) throws -> [[UInt8]] {
        guard layout != .default, layout != .flat else { return records }
        let tagged = try records.enumerated().map { (try day(of: $0.element)[0], $0.offset, $0.element) }
        return tagged.sorted { ($0.0, $0.1) < ($1.0, $1.1) }.map(\.2)
    }

    @Test(arguments: combinations)
    func roundTrip(_ combination: Combination) async throws {
        try await combination.store.withStore { try await Self.exercise($0, combination) }
    }

    static func exercise(_ store: any ObjectStore, _ combination: Combination) async throws {
        do {
            let dataset = try LodeDataset(
                store: store, datasetID: "orders", layout: combination.layout, compressor: combination.compressor)
            var partitioner: (([UInt8]) throws -> [String])?
            if combination.layout.isHiveLayout { partitioner = { try day(of: $0) } }

            // Empty dataset.
            #expect(try await dataset.head() == nil)
            #expect(try await dataset.history() == [])
            #expect(try await dataset.latestPointer() == nil)

            // One record, then several across days, then multi-megabyte records.
            let batches: [[[UInt8]]] = [
                [record(0, day: 1)],
                (1...50).map { record($0, day: 1 + $0 % 3) },
                [record(51, day: 2, padding: 3 << 20), record(52, day: 2, padding: 5 << 20)],
            ]
            var manifests: [Manifest] = []
            for (index, batch) in batches.enumerated() {
                let manifest = try await dataset.write(
                    records: batch, metadata: ["batch": .string(String(index))], partitionValues: partitioner)
                #expect(manifest.rowCount == Int64(batch.count))
                #expect(manifest.parent == manifests.last?.snapshotID)
                #expect(manifest.compressor == combination.compressor.manifestName)
                #expect(manifest.partitioner == combination.layout.partitionerName)
                #expect(manifest.codec == "jsonl")
                #expect(manifest.checksumAlgorithm == "md5")
                manifests.append(manifest)
            }

            // Head, pointer, chain.
            #expect(try await dataset.latestPointer() == manifests.last?.snapshotID)
            #expect(try await dataset.head() == manifests.last)
            #expect(try await dataset.history() == manifests)
            #expect(try await dataset.history(upTo: manifests[1].snapshotID) == Array(manifests[0...1]))
            #expect(try await dataset.manifest(manifests[0].snapshotID) == manifests[0])

            // Byte-exact records, per snapshot and for the whole chain.
            for (manifest, batch) in zip(manifests, batches) {
                var lines: [[UInt8]] = []
                try await dataset.forEachRecord(in: manifest) { lines.append(Array($0)) }
                expectSameRecords(lines, try expectedOrder(batch, layout: combination.layout))
            }
            let everything = try await readAll(dataset)
            #expect(everything.count == 53)

            // Keys, sizes and MD5s of the stored objects match the manifest (MD5 recomputed by md5sum).
            for manifest in manifests {
                #expect(manifest.files.map(\.path) == manifest.files.map(\.path).sorted())
                for file in manifest.files {
                    let stored = try await store.get(file.path)
                    #expect(Int64(stored.count) == file.sizeBytes)
                    #expect(file.checksum == (try await md5Hex(stored)))
                    #expect(file.path.hasSuffix("/data/data" + combination.compressor.fileExtension))
                    #expect(file.path.hasPrefix(combination.layout == .flat ? "orders/" : "datasets/orders/"))
                    // The decompressed object is exactly the records plus newlines.
                    let plain = try await dataset.readFile(file, manifest: manifest)
                    #expect(plain.last == UInt8(ascii: "\n"))
                }
                // The manifest is stored byte-identical to what Go would write for these fields.
                let stored = try await store.get(dataset.manifestKey(snapshotID: manifest.snapshotID))
                #expect(stored == manifest.jsonBytes())
            }

            // Hive: every partition copy is identical to the canonical manifest and there is one per partition.
            if case .hive = combination.layout {
                let second = manifests[1]
                let canonical = try await store.get(dataset.manifestKey(snapshotID: second.snapshotID))
                let copies = try await store.list(prefix: "datasets/orders/partitions/").filter {
                    $0.key.hasSuffix("/segments/\(second.snapshotID)/manifest.json")
                }
                #expect(copies.map(\.key).count == 3)
                for copy in copies { #expect(try await store.get(copy.key) == canonical) }
            }

            // A clean dataset checks clean.
            let report = try await dataset.check()
            #expect(report.problems == [])
            #expect(report.orphans == [])
            #expect(report.snapshotsChecked == 3)
            #expect(report.head == manifests.last?.snapshotID)
        }
    }

    @Test(arguments: StoreKind.allCases)
    func emptyWriteGivesAnEmptyFileAndRowCountZero(kind: StoreKind) async throws {
        try await kind.withStore { (store: any ObjectStore) async throws in
            let dataset = try LodeDataset(store: store, datasetID: "e", compressor: .zstd())
            let manifest = try await dataset.write(records: [])
            #expect(manifest.rowCount == 0)
            #expect(manifest.files.count == 1)
            var count = 0
            try await dataset.forEachRecord(in: manifest) { _ in count += 1 }
            #expect(count == 0)
            // An empty zstd stream is still one valid frame.
            let stored = try await store.get(manifest.files[0].path)
            #expect(try Zstd.decompress(stored) == [])
        }
    }

    @Test(arguments: StoreKind.allCases)
    func rawBlobRoundTrip(kind: StoreKind) async throws {
        try await kind.withStore { (store: any ObjectStore) async throws in
            let dataset = try LodeDataset(store: store, datasetID: "blobs", codec: .none, compressor: .gzip())
            let payload = (0..<200_000).map { UInt8(truncatingIfNeeded: $0 &* 13) }
            let manifest = try await dataset.write(blob: payload, metadata: ["kind": "state"])
            #expect(manifest.codec == nil)
            #expect(manifest.rowCount == 1)
            #expect(manifest.files.map(\.path) == ["datasets/blobs/snapshots/\(manifest.snapshotID)/data/blob.gz"])
            expectSameBytes(try await dataset.readFile(manifest.files[0], manifest: manifest), payload)
            expectSameBytes(try Gzip.decompress(try await store.get(manifest.files[0].path)), payload)
            await expectLodeError(.unsupportedCodec) { try await dataset.forEachRecord(in: manifest) { _ in } }
            #expect(!text(try await store.get(dataset.manifestKey(snapshotID: manifest.snapshotID))).contains("codec"))
        }
    }

    /// The low-level flusher path: stage with SegmentFileWriter, publish, commit with metadata and timestamps.
    @Test(arguments: StoreKind.allCases)
    func stagedCommit(kind: StoreKind) async throws {
        try await kind.withStore { (store: any ObjectStore) async throws in
            let dataset = try LodeDataset(store: store, datasetID: "events", compressor: .zstd(level: 1))
            let id = SnapshotIDs.next()
            let writer = try dataset.makeSegmentWriter()
            for index in 0..<10_000 { try writer.append(line: bytes(#"{"position":\#(index)}"#)) }
            let staged = try await writer.finish()
            defer { staged.removeLocalFile() }
            #expect(staged.rowCount == 10_000)
            let ref = try await dataset.publish(staged, as: dataset.dataFileKey(snapshotID: id))
            let manifest = try await dataset.commit(
                snapshotID: id, files: [ref], rowCount: staged.rowCount,
                metadata: ["archiver.first_position": "0", "archiver.last_position": "9999"],
                minTimestamp: "2026-01-01T00:00:00Z", maxTimestamp: "2026-01-01T00:00:01.5+01:00", expectedParent: "")
            #expect(manifest.minTimestamp == "2026-01-01T00:00:00Z")
            #expect(manifest.files == [ref])
            var positions: [Int] = []
            try await dataset.forEachRecord(in: manifest) { line in
                positions.append(Int(String(decoding: line, as: UTF8.self).dropFirst(12).dropLast())!)
            }
            #expect(positions == Array(0..<10_000))
            #expect(try await dataset.head() == manifest)
        }
    }
}

extension LodeLayout {
    var isHiveLayout: Bool {
        if case .hive = self { return true }
        return false
    }
}
