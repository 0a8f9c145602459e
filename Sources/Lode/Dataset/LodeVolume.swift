/// Read access to a Lode volume (LODE_FORMAT.md §2.5, §3.5): a sparse byte range filled by staged blocks,
/// with cumulative manifests. This implementation reads volumes; it does not write them.
///
/// ```swift
/// let volume = try LodeVolume(store: store, volumeID: "agg-state")
/// if let head = try await volume.head() { let bytes = try await volume.read(offset: 0, length: 10, in: head) }
/// ```
public struct LodeVolume: Sendable {
    public let store: any ObjectStore
    public let volumeID: String

    /// - Throws: ``LodeError/Code/invalidConfiguration`` for an ID outside §8 A10's character set.
    public init(store: any ObjectStore, volumeID: String) throws {
        try LodeLayout.validateDatasetID(volumeID)
        self.store = store
        self.volumeID = volumeID
    }

    /// The trimmed pointer content, `nil` when missing or empty.
    public func latestPointer() async throws -> String? {
        do {
            let raw = String(
                decoding: try await store.get(VolumeManifest.latestPointerKey(volumeID: volumeID)), as: UTF8.self)
            let trimmed = LodeDataset.trimSpace(raw)
            return trimmed.isEmpty ? nil : trimmed
        } catch let error as LodeError where error.code == .notFound {
            return nil
        }
    }

    /// A snapshot's manifest, decoded and validated (Go's checks plus `volume_id`/`snapshot_id` matching the key).
    /// - Throws: ``LodeError/Code/notFound``, ``LodeError/Code/corruptManifest``, ``LodeError/Code/manifestInvalid``.
    public func manifest(_ snapshotID: String) async throws -> VolumeManifest {
        try LodeLayout.validateSnapshotIDForReading(snapshotID)
        let key = VolumeManifest.manifestKey(volumeID: volumeID, snapshotID: snapshotID)
        let manifest = try VolumeManifest.decode(try await store.get(key), key: key)
        if manifest.volumeID != volumeID {
            throw LodeError.manifestInvalid(
                field: "volume_id", "'\(manifest.volumeID)' does not match the volume '\(volumeID)' of its key",
                key: key)
        }
        if manifest.snapshotID != snapshotID {
            throw LodeError.manifestInvalid(
                field: "snapshot_id", "'\(manifest.snapshotID)' does not match the snapshot '\(snapshotID)' of its key",
                key: key)
        }
        return manifest
    }

    /// The head: the pointer's snapshot when its manifest exists, else the largest snapshot ID (byte order).
    public func head() async throws -> VolumeManifest? {
        if let pointer = try await latestPointer() {
            do {
                return try await manifest(pointer)
            } catch let error as LodeError where error.code == .notFound || error.code == .invalidPath {}
        }
        guard let newest = try await snapshotIDs().last else { return nil }
        return try await manifest(newest)
    }

    /// Every snapshot ID with a manifest, in byte order.
    public func snapshotIDs() async throws -> [String] {
        let prefix = "volumes/\(volumeID)/snapshots/"
        return try await store.list(prefix: prefix).compactMap { object -> String? in
            let parts = object.key.split(separator: "/", omittingEmptySubsequences: false)
            guard parts.count == 5, parts[4] == "manifest.json", !parts[3].isEmpty else { return nil }
            return String(parts[3])
        }.sorted(by: ObjectKey.byteOrder)
    }

    /// The bytes `[offset, offset+length)` of the volume as of `manifest`; every touched block is read whole and
    /// checked against its length and MD5.
    /// - Throws: ``LodeError/Code/rangeMissing`` when a byte is not covered (never zero-filled),
    ///   ``LodeError/Code/invalidPath`` for a negative or overflowing range, integrity errors naming the block.
    public func read(offset: Int64, length: Int64, in manifest: VolumeManifest) async throws -> [UInt8] {
        guard offset >= 0, length >= 0, offset <= Int64.max - length else {
            throw LodeError.invalidPath(volumeID, "range offset \(offset), length \(length) is invalid")
        }
        guard manifest.covers(offset: offset, length: length) else {
            throw LodeError(
                .rangeMissing,
                "volume '\(volumeID)' snapshot '\(manifest.snapshotID)' does not cover bytes [\(offset), "
                    + "\(offset + length)); missing ranges are never zero-filled")
        }
        var out: [UInt8] = []
        out.reserveCapacity(Int(length))
        let end = offset + length
        for block in manifest.blocks where block.offset < end && block.offset + block.length > offset {
            let bytes = try await store.get(block.path)
            if Int64(bytes.count) != block.length {
                throw LodeError.sizeMismatch(key: block.path, expected: block.length, actual: Int64(bytes.count))
            }
            if manifest.checksumAlgorithm == "md5", let expected = block.checksum {
                let actual = MD5Hasher.hex(of: bytes)
                if actual != expected {
                    throw LodeError.checksumMismatch(key: block.path, expected: expected, actual: actual)
                }
            }
            let from = Int(max(offset, block.offset) - block.offset)
            let to = Int(min(end, block.offset + block.length) - block.offset)
            out.append(contentsOf: bytes[from..<to])
        }
        return out
    }
}
