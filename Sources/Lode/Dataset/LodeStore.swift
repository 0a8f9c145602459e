/// Store-level questions: which datasets a store holds and how they are laid out.
///
/// ```swift
/// for found in try await LodeStore.discover(in: store) { print(found.datasetID, found.layout) }
/// ```
public enum LodeStore {
    /// A dataset found in a store and its detected layout.
    public struct DiscoveredDataset: Sendable, Hashable {
        public var datasetID: String
        public var layout: LodeLayout

        public init(datasetID: String, layout: LodeLayout) {
            self.datasetID = datasetID
            self.layout = layout
        }
    }

    /// Go `ListDatasets`: the IDs of datasets under `datasets/` that have at least one manifest, sorted.
    /// - Parameter layout: `.default` or `.hive(…)` to accept only that layout's manifest keys; `nil` accepts both.
    /// - Returns: `[]` when the store holds nothing under `datasets/`.
    /// - Throws: ``LodeError/Code/datasetsNotModeled`` for the flat layout (or a store that only holds flat
    ///   datasets when `layout` is `nil`); ``LodeError/Code/noManifests`` when objects exist but none is a
    ///   manifest.
    public static func datasets(in store: any ObjectStore, layout: LodeLayout? = nil) async throws -> [String] {
        if layout == .flat { throw datasetsNotModeled() }
        let objects = try await store.list(prefix: "datasets/")
        let layouts: [LodeLayout] = layout.map { [$0] } ?? [.default, .hive(keys: [])]
        var ids = Set<String>()
        for object in objects {
            for candidate in layouts {
                if let parsed = candidate.parseManifestKey(object.key) { ids.insert(parsed.dataset) }
            }
        }
        if ids.isEmpty {
            if !objects.isEmpty {
                throw LodeError(.noManifests, "objects exist under 'datasets/' but none is a manifest")
            }
            if layout == nil, try await !discover(in: store).isEmpty { throw datasetsNotModeled() }
        }
        return ids.sorted(by: ObjectKey.byteOrder)
    }

    /// Every dataset with at least one manifest in any layout, found by listing the whole store, sorted by ID.
    /// Flat datasets are recognised by `<dataset>/<snapshot>/manifest.json` keys (Go cannot enumerate them).
    public static func discover(in store: any ObjectStore) async throws -> [DiscoveredDataset] {
        var found: [String: LodeLayout] = [:]
        var hivePartitionKeys: [String: [String]] = [:]
        for object in try await store.list(prefix: "") {
            if let parsed = LodeLayout.default.parseManifestKey(object.key) {
                found[parsed.dataset] = .default
            } else if let parsed = LodeLayout.hive(keys: []).parseManifestKey(object.key) {
                if found[parsed.dataset] == nil { found[parsed.dataset] = .hive(keys: []) }
                if !parsed.partition.isEmpty, hivePartitionKeys[parsed.dataset] == nil {
                    hivePartitionKeys[parsed.dataset] = partitionKeys(of: parsed.partition)
                }
            } else if let parsed = LodeLayout.flat.parseManifestKey(object.key), parsed.dataset != "datasets",
                parsed.dataset != "volumes"
            {
                if found[parsed.dataset] == nil { found[parsed.dataset] = .flat }
            }
        }
        for (id, keys) in hivePartitionKeys where found[id]?.isHive == true { found[id] = .hive(keys: keys) }
        return found.map { DiscoveredDataset(datasetID: $0.key, layout: $0.value) }
            .sorted { ObjectKey.byteOrder($0.datasetID, $1.datasetID) }
    }

    /// The layout of one dataset: default or hive when it has such manifests under `datasets/<id>/`, flat when it
    /// has manifests under `<id>/`; `nil` when it has none. Hive partition keys are read from a partition path.
    public static func detectLayout(of datasetID: String, in store: any ObjectStore) async throws -> LodeLayout? {
        try LodeLayout.validateDatasetID(datasetID)
        var hive: LodeLayout?
        for object in try await store.list(prefix: "datasets/\(datasetID)/") {
            if LodeLayout.default.parseManifestKey(object.key) != nil { return .default }
            if let parsed = LodeLayout.hive(keys: []).parseManifestKey(object.key) {
                if !parsed.partition.isEmpty { return .hive(keys: partitionKeys(of: parsed.partition)) }
                hive = .hive(keys: [])
            }
        }
        if let hive { return hive }
        for object in try await store.list(prefix: "\(datasetID)/") {
            if LodeLayout.flat.parseManifestKey(object.key) != nil { return .flat }
        }
        return nil
    }

    /// `day=2026-01-01/region=eu` → `["day", "region"]`.
    static func partitionKeys(of partitionPath: String) -> [String] {
        partitionPath.split(separator: "/").map { segment in
            String(segment.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false).first ?? "")
        }
    }

    private static func datasetsNotModeled() -> LodeError {
        LodeError(
            .datasetsNotModeled,
            "the flat layout has no 'datasets/' prefix, so datasets cannot be enumerated; name the dataset explicitly")
    }
}
