import Lode
import Testing

/// §2 key templates and recognition rules, and §8 A10 ID validation.
@Suite struct LodeLayoutTests {
    @Test func defaultLayoutKeys() {
        let layout = LodeLayout.default
        #expect(layout.manifestKey(dataset: "orders", snapshot: "17") == "datasets/orders/snapshots/17/manifest.json")
        #expect(
            layout.dataFileKey(dataset: "orders", snapshot: "17", fileName: "data.zst")
                == "datasets/orders/snapshots/17/data/data.zst")
        #expect(layout.latestPointerKey(dataset: "orders") == "datasets/orders/latest")
        #expect(layout.snapshotsPrefix(dataset: "orders") == "datasets/orders/snapshots/")
        #expect(layout.datasetsPrefix == "datasets/")
        #expect(layout.partitionerName == "noop")
    }

    @Test func hiveLayoutKeys() throws {
        let layout = LodeLayout.hive(keys: ["day", "region"])
        #expect(layout.manifestKey(dataset: "orders", snapshot: "17") == "datasets/orders/segments/17/manifest.json")
        let partition = try layout.partitionPath(values: ["2026-01-01", "eu west"])
        #expect(partition == "day=2026-01-01/region=eu%20west")
        #expect(
            layout.manifestKey(dataset: "orders", snapshot: "17", partition: partition)
                == "datasets/orders/partitions/day=2026-01-01/region=eu%20west/segments/17/manifest.json")
        #expect(
            layout.dataFileKey(dataset: "orders", snapshot: "17", partition: partition, fileName: "data.gz")
                == "datasets/orders/partitions/day=2026-01-01/region=eu%20west/segments/17/data/data.gz")
        #expect(layout.latestPointerKey(dataset: "orders") == "datasets/orders/latest")
        #expect(layout.snapshotsPrefix(dataset: "orders") == "datasets/orders/")
        #expect(layout.partitionerName == "hive")
        #expect(throws: LodeError.self) { try layout.partitionPath(values: ["only-one"]) }
        #expect(throws: LodeError.self) { try LodeLayout.default.partitionPath(values: []) }
    }

    @Test func flatLayoutKeys() {
        let layout = LodeLayout.flat
        #expect(layout.manifestKey(dataset: "orders", snapshot: "17") == "orders/17/manifest.json")
        #expect(layout.dataFileKey(dataset: "orders", snapshot: "17", fileName: "blob") == "orders/17/data/blob")
        #expect(layout.latestPointerKey(dataset: "orders") == "orders/latest")
        #expect(layout.datasetsPrefix == nil)
    }

    /// Go `url.PathEscape`.
    @Test(arguments: [
        ("2026-01-01", "2026-01-01"), ("a b/c", "a%20b%2Fc"), ("x,y;z?", "x%2Cy%3Bz%3F"),
        ("$&+:=@-_.~", "$&+:=@-_.~"), ("é", "%C3%A9"), ("100%", "100%25"), ("#!*'()", "%23%21%2A%27%28%29"),
        ("", ""),
    ])
    func partitionValueEscaping(value: String, expected: String) {
        #expect(LodeLayout.escapePartitionValue(value) == expected)
    }

    @Test(arguments: [
        ("datasets/o/snapshots/1/manifest.json", LodeLayout.default, "o", "1", ""),
        ("datasets/o/segments/1/manifest.json", .hive(keys: []), "o", "1", ""),
        ("datasets/o/partitions/day=x/r=y/segments/1/manifest.json", .hive(keys: []), "o", "1", "day=x/r=y"),
        ("o/1/manifest.json", .flat, "o", "1", ""),
    ])
    func manifestKeysAreRecognised(
        key: String, layout: LodeLayout, dataset: String, snapshot: String, partition: String
    ) {
        let parsed = layout.parseManifestKey(key)
        #expect(parsed?.dataset == dataset)
        #expect(parsed?.snapshot == snapshot)
        #expect(parsed?.partition == partition)
    }

    @Test(arguments: [
        ("datasets/o/snapshots/1/data/data", LodeLayout.default),
        ("datasets/o/latest", .default), ("datasets/o/latest.lock", .default),
        ("datasets/o/.lode-cas-123", .default), ("datasets//snapshots/1/manifest.json", .default),
        ("datasets/o/snapshots//manifest.json", .default), ("datasets/o/snapshots/1/manifest.json.tmp", .default),
        ("x/o/snapshots/1/manifest.json", .default), ("datasets/o/snapshots/1/x/manifest.json", .default),
        ("datasets/o/segments/1/data/data.zst", .hive(keys: [])),
        ("datasets/o/segments//manifest.json", .hive(keys: [])),
        ("datasets/o/manifest.json", .hive(keys: [])), ("o/1/data/manifest.json", .flat), ("o/manifest.json", .flat),
    ])
    func otherKeysAreNotManifests(key: String, layout: LodeLayout) {
        #expect(layout.parseManifestKey(key) == nil)
    }

    @Test func partitionPathExtraction() {
        #expect(
            LodeLayout.partitionPath(ofKey: "datasets/o/partitions/day=1/r=2/segments/9/data/data")
                == "day=1/r=2")
        #expect(LodeLayout.partitionPath(ofKey: "datasets/o/segments/9/data/data") == "")
        #expect(LodeLayout.partitionPath(ofKey: "datasets/o/partitions/segments/9/data/data") == "")
    }

    @Test(arguments: ["a", "orders", "A-1_b.c", "0", String(repeating: "z", count: 128)])
    func validDatasetIDs(id: String) throws {
        try LodeLayout.validateDatasetID(id)
    }

    @Test(arguments: ["", "-a", ".a", "_a", "a/b", "a b", "a..b/..", "é", String(repeating: "z", count: 129)])
    func invalidDatasetIDs(id: String) {
        #expect(throws: LodeError.self) { try LodeLayout.validateDatasetID(id) }
    }

    @Test func storeLevelListing() async throws {
        let store = MemoryStore()
        #expect(try await LodeStore.datasets(in: store) == [])
        try await store.put("datasets/x/snapshots/1/data/data", [1])
        await expectLodeError(.noManifests) { try await LodeStore.datasets(in: store) }
        let hive = try LodeDataset(store: store, datasetID: "h", layout: .hive(keys: ["day", "r"]), compressor: .noop)
        _ = try await hive.write(records: [bytes("1")], partitionValues: { _ in ["d", "e"] })
        let plain = try LodeDataset(store: store, datasetID: "p", compressor: .noop)
        _ = try await plain.write(records: [bytes("2")])
        #expect(try await LodeStore.datasets(in: store) == ["h", "p"])
        #expect(try await LodeStore.datasets(in: store, layout: .default) == ["p"])
        #expect(
            try await LodeStore.discover(in: store) == [
                .init(datasetID: "h", layout: .hive(keys: ["day", "r"])), .init(datasetID: "p", layout: .default),
            ])
        #expect(try await LodeStore.detectLayout(of: "h", in: store) == .hive(keys: ["day", "r"]))
        #expect(try await LodeStore.detectLayout(of: "p", in: store) == .default)
        #expect(try await LodeStore.detectLayout(of: "nope", in: store) == nil)
    }
}
