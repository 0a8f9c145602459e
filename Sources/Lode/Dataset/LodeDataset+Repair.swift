/// Hive partition copies and the `latest` pointer are derived from the committed canonical manifests: a copy
/// that failed to write (a full disk during §4.2 step 7) or a pointer left behind the chain can be rewritten
/// from them without guessing anything. Nothing else is ever rewritten.
extension LodeDataset {
    /// What ``checkPartitionCopies(of:)`` found for one snapshot.
    public struct PartitionCopyCheck: Sendable, Hashable {
        /// Copy keys that do not exist.
        public var missing: [String] = []
        /// Copy keys whose bytes differ from the canonical manifest's.
        public var differing: [String] = []
    }

    /// The hive partition copy keys a snapshot must have: one per partition of its files (§4.2 step 7). Empty for
    /// other layouts.
    public func partitionCopyKeys(of manifest: Manifest) -> [String] {
        guard layout.isHive else { return [] }
        var keys: [String] = []
        var seen = Set<String>()
        for file in manifest.files {
            let partition = LodeLayout.partitionPath(ofKey: file.path)
            guard !partition.isEmpty, seen.insert(partition).inserted else { continue }
            keys.append(layout.manifestKey(dataset: id, snapshot: manifest.snapshotID, partition: partition))
        }
        return keys
    }

    /// Compares each partition copy of `manifest`'s snapshot with the canonical manifest's stored bytes. A
    /// snapshot without a canonical manifest (hive data written before Go v0.7.3) has nothing to compare with.
    public func checkPartitionCopies(of manifest: Manifest) async throws -> PartitionCopyCheck {
        let keys = partitionCopyKeys(of: manifest)
        guard !keys.isEmpty, let canonical = try await canonicalBytes(of: manifest.snapshotID) else {
            return PartitionCopyCheck()
        }
        var check = PartitionCopyCheck()
        for key in keys {
            do {
                if try await store.get(key) != canonical { check.differing.append(key) }
            } catch let error as LodeError where error.code == .notFound {
                check.missing.append(key)
            }
        }
        return check
    }

    /// Writes the missing partition copies of `manifest`'s snapshot, byte-identical to its committed canonical
    /// manifest and create-only. A copy that differs is never overwritten: it is evidence for `verify`.
    /// - Returns: the keys written.
    @discardableResult
    public func repairPartitionCopies(of manifest: Manifest) async throws -> [String] {
        let check = try await checkPartitionCopies(of: manifest)
        guard !check.missing.isEmpty, let canonical = try await canonicalBytes(of: manifest.snapshotID) else {
            return []
        }
        var written: [String] = []
        for key in check.missing {
            do {
                try await store.put(key, canonical)
                written.append(key)
            } catch let error as LodeError where error.code == .pathExists {
                continue  // written meanwhile by the commit that owns it
            }
        }
        return written
    }

    /// Moves a `latest` pointer that was left behind the chain (``HeadResolution/pointerIsBehind``) to the head,
    /// by compare-and-swap from its exact content, as a commit moves it (§4.3).
    /// - Returns: the pointer's old and new snapshot, or nil when it already names the head.
    /// - Throws: ``LodeError/Code/snapshotConflict`` when a writer moved the pointer meanwhile.
    @discardableResult
    public func repairLatestPointer() async throws -> (from: String, to: String)? {
        let resolution = try await resolveHead()
        guard resolution.pointerIsBehind, let head = resolution.head, let raw = try await rawLatestPointer() else {
            return nil
        }
        try await store.compareAndSwap(latestPointerKey, expected: raw, replacement: head.snapshotID)
        return (Self.trimSpace(raw), head.snapshotID)
    }

    private func canonicalBytes(of snapshotID: String) async throws -> [UInt8]? {
        do {
            return try await store.get(manifestKey(snapshotID: snapshotID))
        } catch let error as LodeError where error.code == .notFound {
            return nil
        }
    }
}
