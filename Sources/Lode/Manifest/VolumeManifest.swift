public import RawJSON

/// A volume snapshot's manifest (LODE_FORMAT.md §3.5): cumulative blocks of a sparse byte range
/// `[0, total_length)`.
///
/// ```swift
/// let volume = try VolumeManifest.decode(bytes, key: "volumes/agg-state/snapshots/1/manifest.json")
/// let ok = volume.covers(offset: 0, length: 10)
/// ```
public struct VolumeManifest: Sendable, Hashable {
    /// `"lode-volume-manifest"`.
    public static let currentSchemaName = "lode-volume-manifest"

    public var schemaName: String
    public var formatVersion: String
    public var volumeID: String
    public var snapshotID: String
    public var createdAt: String
    public var metadata: [String: JSONValue]
    public var totalLength: Int64
    /// Every committed block so far, sorted by offset.
    public var blocks: [BlockRef]
    public var parentSnapshotID: String?
    public var checksumAlgorithm: String?

    public init(
        schemaName: String = VolumeManifest.currentSchemaName,
        formatVersion: String = Manifest.currentFormatVersion, volumeID: String, snapshotID: String,
        createdAt: String, metadata: [String: JSONValue] = [:], totalLength: Int64, blocks: [BlockRef],
        parentSnapshotID: String? = nil, checksumAlgorithm: String? = nil
    ) {
        self.schemaName = schemaName
        self.formatVersion = formatVersion
        self.volumeID = volumeID
        self.snapshotID = snapshotID
        self.createdAt = createdAt
        self.metadata = metadata
        self.totalLength = totalLength
        self.blocks = blocks
        self.parentSnapshotID = parentSnapshotID
        self.checksumAlgorithm = checksumAlgorithm
    }

    /// The manifest key: `volumes/<volume_id>/snapshots/<snapshot_id>/manifest.json`.
    public static func manifestKey(volumeID: String, snapshotID: String) -> String {
        "volumes/\(volumeID)/snapshots/\(snapshotID)/manifest.json"
    }

    /// The latest pointer key: `volumes/<volume_id>/latest`.
    public static func latestPointerKey(volumeID: String) -> String {
        "volumes/\(volumeID)/latest"
    }

    /// The block data key: `volumes/<volume_id>/data/<offset>-<length>.bin`.
    public static func blockKey(volumeID: String, offset: Int64, length: Int64) -> String {
        "volumes/\(volumeID)/data/\(offset)-\(length).bin"
    }

    /// Whether committed blocks cover every byte of `[offset, offset+length)` (otherwise a read is
    /// ``LodeError/Code/rangeMissing``; ranges are never zero-filled).
    public func covers(offset: Int64, length: Int64) -> Bool {
        guard offset >= 0, length >= 0, offset <= totalLength - length else { return false }
        var next = offset
        let end = offset + length
        for block in blocks where block.offset <= next && block.offset + block.length > next {
            next = block.offset + block.length
            if next >= end { return true }
        }
        return next >= end
    }

    /// Go's `json.MarshalIndent(m, "", "  ")` of the manifest (§3.5 field order).
    public func jsonBytes() -> [UInt8] {
        var w = GoJSONWriter(capacity: 512 + blocks.count * 160)
        w.beginObject()
        w.key("schema_name", first: true)
        w.string(schemaName)
        w.key("format_version", first: false)
        w.string(formatVersion)
        w.key("volume_id", first: false)
        w.string(volumeID)
        w.key("snapshot_id", first: false)
        w.string(snapshotID)
        w.key("created_at", first: false)
        w.string(createdAt)
        w.key("metadata", first: false)
        w.writeObject(metadata)
        w.key("total_length", first: false)
        w.int(totalLength)
        w.key("blocks", first: false)
        w.beginArray()
        for (index, block) in blocks.enumerated() {
            w.element(first: index == 0)
            w.beginObject()
            w.key("offset", first: true)
            w.int(block.offset)
            w.key("length", first: false)
            w.int(block.length)
            w.key("path", first: false)
            w.string(block.path)
            w.optionalString("checksum", block.checksum)
            w.endObject(empty: false)
        }
        w.endArray(empty: blocks.isEmpty)
        w.optionalString("parent_snapshot_id", parentSnapshotID)
        w.optionalString("checksum_algorithm", checksumAlgorithm)
        w.endObject(empty: false)
        return w.bytes
    }

    /// Decodes and validates a volume manifest: Go's checks (required fields, `total_length` > 0, each block
    /// `offset` ≥ 0, `length` > 0, `path` set, within `total_length`, no overlaps) plus §8 A1 (schema name and
    /// major version) and a known checksum algorithm. Blocks come back sorted by offset.
    /// - Throws: ``LodeError/Code/corruptManifest`` or ``LodeError/Code/manifestInvalid`` naming the field.
    public static func decode(_ bytes: [UInt8], key: String? = nil) throws(LodeError) -> VolumeManifest {
        func invalid(_ field: String, _ why: String) -> LodeError {
            LodeError.manifestInvalid(field: field, why, key: key)
        }
        let fields = try JSONFields(manifest: bytes, key: key)
        var blocks: [BlockRef] = []
        for (index, element) in try fields.array("blocks").enumerated() {
            guard case .object(let object) = element else { throw invalid("blocks[\(index)]", "must be an object") }
            let blockFields = JSONFields(object, path: "blocks[\(index)].", key: key)
            blocks.append(
                BlockRef(
                    offset: try blockFields.int("offset") ?? 0, length: try blockFields.int("length") ?? 0,
                    path: try blockFields.string("path") ?? "",
                    checksum: try blockFields.string("checksum").flatMap { $0.isEmpty ? nil : $0 }))
        }
        let manifest = VolumeManifest(
            schemaName: try fields.string("schema_name") ?? "",
            formatVersion: try fields.string("format_version") ?? "",
            volumeID: try fields.string("volume_id") ?? "",
            snapshotID: try fields.string("snapshot_id") ?? "",
            createdAt: try fields.string("created_at") ?? "",
            metadata: try fields.object("metadata") ?? [:],
            totalLength: try fields.int("total_length") ?? 0,
            blocks: blocks,
            parentSnapshotID: try fields.string("parent_snapshot_id").flatMap { $0.isEmpty ? nil : $0 },
            checksumAlgorithm: try fields.string("checksum_algorithm").flatMap { $0.isEmpty ? nil : $0 })
        return try manifest.validated(hasMetadata: fields.has("metadata"), hasBlocks: fields.has("blocks"), key: key)
    }

    /// Checks the decoded fields in Go's `validateVolumeManifest` order; returns the manifest with its blocks
    /// sorted by offset.
    private func validated(hasMetadata: Bool, hasBlocks: Bool, key: String?) throws(LodeError) -> VolumeManifest {
        func invalid(_ field: String, _ why: String) -> LodeError {
            LodeError.manifestInvalid(field: field, why, key: key)
        }
        let manifest = self
        if manifest.schemaName.isEmpty { throw invalid("schema_name", "is required") }
        if manifest.formatVersion.isEmpty { throw invalid("format_version", "is required") }
        if manifest.volumeID.isEmpty { throw invalid("volume_id", "is required") }
        if manifest.snapshotID.isEmpty { throw invalid("snapshot_id", "is required") }
        if manifest.createdAt.isEmpty { throw invalid("created_at", "is required") }
        guard let created = LodeTimestamp.parse(manifest.createdAt) else {
            throw invalid("created_at", "'\(manifest.createdAt)' is not an RFC 3339 timestamp")
        }
        if created.isZero { throw invalid("created_at", "is required (it is Go's zero time)") }
        if !hasMetadata { throw invalid("metadata", "must not be nil (use empty map for no metadata)") }
        if !hasBlocks { throw invalid("blocks", "must not be nil (use empty slice for no blocks)") }
        if manifest.totalLength <= 0 { throw invalid("total_length", "must be positive") }
        for (index, block) in manifest.blocks.enumerated() {
            if block.offset < 0 { throw invalid("blocks[\(index)].offset", "must be non-negative") }
            if block.length <= 0 { throw invalid("blocks[\(index)].length", "must be positive") }
            if block.path.isEmpty { throw invalid("blocks[\(index)].path", "is required") }
            if block.length > manifest.totalLength - block.offset {
                throw invalid(
                    "blocks[\(index)]",
                    "exceeds total_length (offset=\(block.offset), length=\(block.length), "
                        + "total_length=\(manifest.totalLength))")
            }
        }
        var sorted = manifest
        sorted.blocks.sort { $0.offset < $1.offset }
        for index in sorted.blocks.indices.dropFirst() {
            let previous = sorted.blocks[index - 1]
            if previous.offset + previous.length > sorted.blocks[index].offset {
                throw invalid("blocks", "contain overlapping ranges")
            }
        }
        if sorted.schemaName != Self.currentSchemaName {
            throw invalid("schema_name", "'\(sorted.schemaName)' is not '\(Self.currentSchemaName)'")
        }
        if !FormatVersion.isSupported(sorted.formatVersion) {
            throw invalid(
                "format_version", "'\(sorted.formatVersion)' is not supported (this reader reads major version 1 only)")
        }
        if let algorithm = sorted.checksumAlgorithm {
            guard algorithm == "md5" else {
                throw invalid("checksum_algorithm", "'\(algorithm)' is unknown (only 'md5' is defined)")
            }
            for (index, block) in sorted.blocks.enumerated() {
                if let checksum = block.checksum, !MD5Hex.isValid(checksum) {
                    throw invalid("blocks[\(index)].checksum", "'\(checksum)' is not 32 lowercase hex digits")
                }
            }
        }
        return sorted
    }
}

/// One staged block of a volume (`blocks[]`).
public struct BlockRef: Sendable, Hashable {
    public var offset: Int64
    public var length: Int64
    /// `volumes/<volume_id>/data/<offset>-<length>.bin`.
    public var path: String
    /// Lowercase hex MD5 of the raw block bytes, when checksums are on.
    public var checksum: String?

    public init(offset: Int64, length: Int64, path: String, checksum: String? = nil) {
        self.offset = offset
        self.length = length
        self.path = path
        self.checksum = checksum
    }
}
