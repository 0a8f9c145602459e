extension LodeDataset {
    /// The `latest` pointer's content with surrounding whitespace trimmed (Go `strings.TrimSpace`); `nil` when
    /// the pointer is missing or empty. A hint only (§4.5): see ``head()``.
    public func latestPointer() async throws -> String? {
        guard let raw = try await rawLatestPointer() else { return nil }
        let trimmed = Self.trimSpace(raw)
        return trimmed.isEmpty ? nil : trimmed
    }

    /// The pointer's exact content (the CAS `expected` value), or `nil` when the key is missing.
    func rawLatestPointer() async throws -> String? {
        do {
            return String(decoding: try await store.get(latestPointerKey), as: UTF8.self)
        } catch let error as LodeError where error.code == .notFound {
            return nil
        }
    }

    /// The canonical manifest of `snapshotID`, decoded and validated (§3.4, §8 A1, A20). For hive data written
    /// before Go v0.7.3 (partition copies only) a partition copy is used.
    /// - Throws: ``LodeError/Code/notFound`` when no manifest of that snapshot exists;
    ///   ``LodeError/Code/corruptManifest`` / ``LodeError/Code/manifestInvalid`` naming the key.
    public func manifest(_ snapshotID: String) async throws -> Manifest {
        try LodeLayout.validateSnapshotIDForReading(snapshotID)
        if let manifest = try await loadManifest(snapshotID: snapshotID, key: manifestKey(snapshotID: snapshotID)) {
            return manifest
        }
        if layout.isHive, let key = try await manifestKeys()[snapshotID],
            let manifest = try await loadManifest(snapshotID: snapshotID, key: key.key)
        {
            return manifest
        }
        throw LodeError(
            .notFound,
            "snapshot '\(snapshotID)' of dataset '\(id)' does not exist (no manifest at "
                + "'\(manifestKey(snapshotID: snapshotID))')", key: manifestKey(snapshotID: snapshotID))
    }

    /// The head snapshot: the newest snapshot on the chain through the `latest` pointer's snapshot. The pointer is
    /// a hint (§4.5): when snapshots that descend from the one it names exist (a pointer rolled back, or left
    /// behind by a writer without CAS), the head is the last of them, so no committed snapshot is hidden. Without a
    /// usable pointer, the manifest with the largest snapshot ID as a byte string. `nil` for a dataset without
    /// snapshots. Never writes the pointer; ``resolveHead()`` also says whether the pointer agrees.
    /// - Throws: ``LodeError/Code/forkDetected`` when two snapshots after the pointer's name the same parent;
    ///   ``LodeError/Code/corruptManifest`` / ``LodeError/Code/manifestInvalid`` when a manifest read is damaged:
    ///   it is reported, never skipped.
    public func head() async throws -> Manifest? {
        try await resolveHead().head
    }

    /// The snapshot the `latest` pointer names, or the ``head()`` when the pointer is missing or names no
    /// manifest. One pointer and one manifest read, no listing: for what every snapshot of a dataset shares (its
    /// compressor, its layout), never for finding the newest snapshot.
    public func pointedSnapshot() async throws -> Manifest? {
        if let pointer = try await latestPointer(), (try? LodeLayout.validateSnapshotIDForReading(pointer)) != nil,
            let named = try await loadManifest(snapshotID: pointer, key: manifestKey(snapshotID: pointer))
        {
            return named
        }
        return try await head()
    }

    /// The head (see ``head()``) and what the `latest` pointer says about it.
    public func resolveHead() async throws -> HeadResolution {
        let pointer = try await latestPointer()
        guard let pointer, (try? LodeLayout.validateSnapshotIDForReading(pointer)) != nil,
            let named = try await loadManifest(snapshotID: pointer, key: manifestKey(snapshotID: pointer))
        else {
            return HeadResolution(head: try await latestByScan(), pointer: pointer, pointerIsBehind: false)
        }
        // Snapshot IDs grow with each commit (§4.7 step 1), so a descendant of the pointer's snapshot has a larger
        // ID: one listing from the pointer's snapshot on, and only those manifests are read (none, usually).
        let newer = try await manifestKeys(after: pointer)
        guard !newer.isEmpty else { return HeadResolution(head: named, pointer: pointer, pointerIsBehind: false) }
        var children: [String: [Manifest]] = [:]
        for manifest in try await loadManifests(newer.sorted { ObjectKey.byteOrder($0.snapshot, $1.snapshot) }) {
            if let parent = manifest.parent { children[parent, default: []].append(manifest) }
        }
        var head = named
        while let next = children[head.snapshotID] {
            guard next.count == 1 else {
                throw LodeError(
                    .forkDetected,
                    "dataset '\(id)' is forked: snapshots \(next.map(\.snapshotID).joined(separator: ", ")) all name "
                        + "parent '\(head.snapshotID)'; choose a branch explicitly (history is not linear)",
                    key: manifestKey(snapshotID: head.snapshotID))
            }
            head = next[0]
        }
        return HeadResolution(head: head, pointer: pointer, pointerIsBehind: head.snapshotID != pointer)
    }

    /// Every snapshot's manifest (one per snapshot ID; for hive the canonical copy where present), sorted by
    /// snapshot ID bytes. One undecodable manifest fails the whole call, naming its key.
    public func allManifests() async throws -> [Manifest] {
        let keys = try await manifestKeys().values.sorted { ObjectKey.byteOrder($0.snapshot, $1.snapshot) }
        return try await loadManifests(keys)
    }

    /// The chain from the root to `snapshotID` (default: the ``head()``), following `parent_snapshot_id`
    /// (never ID or `created_at` order, §4.8). Cut point N = this chain up to and including N (§8 A3).
    /// - Parameters:
    ///   - snapshotID: the last snapshot to include.
    ///   - allowForks: when false (the default) any two snapshots naming the same parent fail the call, because
    ///     replay must not pick a branch silently; pass true together with an explicit `snapshotID` to choose one.
    /// - Returns: `[]` for a dataset without snapshots.
    /// - Throws: ``LodeError/Code/forkDetected``, ``LodeError/Code/brokenChain`` (missing parent or a cycle),
    ///   ``LodeError/Code/notFound`` for an unknown `snapshotID`, and manifest decoding errors.
    public func history(upTo snapshotID: String? = nil, allowForks: Bool = false) async throws -> [Manifest] {
        let manifests = try await allManifests()
        guard !manifests.isEmpty else {
            if let snapshotID { throw LodeError.notFound(snapshotID, "snapshot") }
            return []
        }
        let target: String
        if let snapshotID {
            target = snapshotID
        } else if let head = try await head() {
            target = head.snapshotID
        } else {
            return []
        }
        let analysis = ChainAnalysis(manifests: manifests, head: target)
        if !allowForks, let fork = analysis.forks.first {
            throw LodeError(
                .forkDetected,
                "dataset '\(id)' is forked: snapshots \(fork.children.joined(separator: ", ")) all name parent "
                    + "'\(fork.parent)'; choose a branch explicitly (history is not linear)",
                key: manifestKey(snapshotID: fork.parent))
        }
        switch analysis.chainResult {
        case .success(let chain): return chain
        case .failure(let error): throw error
        }
    }

    // MARK: Internals

    /// Manifest keys by snapshot ID (canonical preferred, then the first partition copy by key bytes).
    func manifestKeys() async throws -> [String: LodeLayout.ManifestKey] {
        var keys: [String: LodeLayout.ManifestKey] = [:]
        for object in try await store.list(prefix: layout.snapshotsPrefix(dataset: id)) {
            guard let parsed = layout.parseManifestKey(object.key), parsed.dataset == id else { continue }
            if let existing = keys[parsed.snapshot], existing.partition.isEmpty { continue }
            keys[parsed.snapshot] = parsed
        }
        return keys
    }

    /// Canonical manifest keys of the snapshots whose IDs sort after `snapshotID`, found by one listing that
    /// starts at that snapshot's directory.
    func manifestKeys(after snapshotID: String) async throws -> [LodeLayout.ManifestKey] {
        let directory = layout.snapshotDirectory(dataset: id, snapshot: snapshotID)
        let prefix = String(directory.dropLast(snapshotID.count))
        return try await store.list(prefix: prefix, startAfter: directory).compactMap { object in
            guard let parsed = layout.parseManifestKey(object.key), parsed.dataset == id, parsed.partition.isEmpty,
                ObjectKey.byteOrder(snapshotID, parsed.snapshot)
            else { return nil }
            return parsed
        }
    }

    func latestByScan() async throws -> Manifest? {
        let keys = try await manifestKeys()
        guard let newest = keys.values.max(by: { ObjectKey.byteOrder($0.snapshot, $1.snapshot) }) else { return nil }
        return try await loadManifest(snapshotID: newest.snapshot, key: newest.key)
    }

    /// Loads and validates one manifest; `nil` when the key does not exist.
    func loadManifest(snapshotID: String, key: String) async throws -> Manifest? {
        let bytes: [UInt8]
        do {
            bytes = try await store.get(key)
        } catch let error as LodeError where error.code == .notFound {
            return nil
        }
        return try decodeManifest(bytes, snapshotID: snapshotID, key: key)
    }

    /// Decodes a manifest and checks that it belongs where it was found (§8 A20).
    func decodeManifest(_ bytes: [UInt8], snapshotID: String, key: String) throws(LodeError) -> Manifest {
        let manifest = try Manifest.decode(bytes, key: key)
        if manifest.datasetID != id {
            throw LodeError.manifestInvalid(
                field: "dataset_id", "'\(manifest.datasetID)' does not match the dataset '\(id)' of its key", key: key)
        }
        if manifest.snapshotID != snapshotID {
            throw LodeError.manifestInvalid(
                field: "snapshot_id", "'\(manifest.snapshotID)' does not match the snapshot '\(snapshotID)' of its key",
                key: key)
        }
        return manifest
    }

    /// Loads manifests with bounded concurrency, keeping the order of `keys`.
    func loadManifests(_ keys: [LodeLayout.ManifestKey]) async throws -> [Manifest] {
        var results = [Manifest?](repeating: nil, count: keys.count)
        try await withThrowingTaskGroup(of: (Int, Manifest).self) { group in
            var next = 0
            func add() {
                let index = next
                let key = keys[index]
                next += 1
                group.addTask {
                    guard let manifest = try await loadManifest(snapshotID: key.snapshot, key: key.key) else {
                        throw LodeError(
                            .notFound, "manifest '\(key.key)' disappeared while it was being read", key: key.key)
                    }
                    return (index, manifest)
                }
            }
            while next < min(keys.count, 8) { add() }
            while let (index, manifest) = try await group.next() {
                results[index] = manifest
                if next < keys.count { add() }
            }
        }
        return results.map { $0! }
    }

    /// Go `strings.TrimSpace`.
    static func trimSpace(_ text: String) -> String {
        var scalars = Substring(text)
        while let first = scalars.first, first.isWhitespace { scalars.removeFirst() }
        while let last = scalars.last, last.isWhitespace { scalars.removeLast() }
        return String(scalars)
    }
}

/// A dataset's head and what its `latest` pointer says, from ``LodeDataset/resolveHead()``.
public struct HeadResolution: Sendable {
    /// The newest snapshot on the chain; nil for a dataset without snapshots.
    public var head: Manifest?
    /// The pointer's trimmed content; nil when it is missing or empty.
    public var pointer: String?
    /// True when the pointer names a committed snapshot that later committed snapshots descend from: it was
    /// rolled back (or left behind), and a reader that believed it would miss those snapshots.
    public var pointerIsBehind: Bool

    /// The one description of a pointer behind the chain, nil when it is not: every report of it (verify,
    /// drills, the flush preflight, read warnings) starts with this and adds its consequence.
    public var pointerBehindDescription: String? {
        guard pointerIsBehind, let pointer, let head else { return nil }
        return "the latest pointer was rolled back: it names snapshot \(pointer), but the chain continues to "
            + "snapshot \(head.snapshotID)"
    }

    public init(head: Manifest?, pointer: String?, pointerIsBehind: Bool = false) {
        self.head = head
        self.pointer = pointer
        self.pointerIsBehind = pointerIsBehind
    }
}

/// The shape of a dataset's parent links: the chain to a head, forks, missing parents, cycles and snapshots
/// not on the chain.
struct ChainAnalysis {
    struct Fork {
        var parent: String
        var children: [String]
    }

    let forks: [Fork]
    let chainResult: Result<[Manifest], LodeError>
    /// Snapshots not on the chain to the head (after a stale pointer, or on a side branch).
    let offChain: [String]

    init(manifests: [Manifest], head: String) {
        var byID: [String: Manifest] = [:]
        var children: [String: [String]] = [:]
        for manifest in manifests {
            byID[manifest.snapshotID] = manifest
            if let parent = manifest.parent { children[parent, default: []].append(manifest.snapshotID) }
        }
        forks = children.filter { $0.value.count > 1 }
            .map { Fork(parent: $0.key, children: $0.value.sorted(by: ObjectKey.byteOrder)) }
            .sorted { ObjectKey.byteOrder($0.parent, $1.parent) }

        var chain: [Manifest] = []
        var seen = Set<String>()
        var current: String? = head
        var failure: LodeError?
        while let id = current {
            guard let manifest = byID[id] else {
                let child = chain.last
                failure =
                    child.map {
                        LodeError(
                            .brokenChain,
                            "snapshot '\($0.snapshotID)' names parent '\(id)', which has no manifest: history is "
                                + "broken there", key: id)
                    } ?? LodeError.notFound(id, "snapshot")
                break
            }
            if !seen.insert(id).inserted {
                failure = LodeError(
                    .brokenChain, "the parent links loop back to snapshot '\(id)': history has a cycle", key: id)
                break
            }
            chain.append(manifest)
            current = manifest.parent
        }
        chainResult = failure.map { .failure($0) } ?? .success(chain.reversed())
        offChain = byID.keys.filter { !seen.contains($0) }.sorted(by: ObjectKey.byteOrder)
    }
}
