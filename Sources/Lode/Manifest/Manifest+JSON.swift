import RawJSON

extension Manifest {
    /// The manifest exactly as Go's `json.MarshalIndent(m, "", "  ")` writes it: §3.2 field order, two-space
    /// indentation, sorted metadata keys, Go's string escaping, optional fields left out when empty, no trailing
    /// newline. `files` is written in the order held (the writer sorts it by path before committing).
    public func jsonBytes() -> [UInt8] {
        var w = GoJSONWriter(capacity: 512 + files.count * 192)
        w.beginObject()
        w.key("schema_name", first: true)
        w.string(schemaName)
        w.key("format_version", first: false)
        w.string(formatVersion)
        w.key("dataset_id", first: false)
        w.string(datasetID)
        w.key("snapshot_id", first: false)
        w.string(snapshotID)
        w.key("created_at", first: false)
        w.string(createdAt)
        w.key("metadata", first: false)
        w.writeObject(metadata)
        w.key("files", first: false)
        w.beginArray()
        for (index, file) in files.enumerated() {
            w.element(first: index == 0)
            file.write(to: &w)
        }
        w.endArray(empty: files.isEmpty)
        if let parent = parentSnapshotID, !parent.isEmpty {
            w.key("parent_snapshot_id", first: false)
            w.string(parent)
        }
        w.key("row_count", first: false)
        w.int(rowCount)
        w.optionalString("min_timestamp", minTimestamp)
        w.optionalString("max_timestamp", maxTimestamp)
        w.optionalString("codec", codec)
        w.key("compressor", first: false)
        w.string(compressor)
        w.key("partitioner", first: false)
        w.string(partitioner)
        w.optionalString("checksum_algorithm", checksumAlgorithm)
        w.endObject(empty: false)
        return w.bytes
    }

    /// Decodes and validates a dataset manifest.
    ///
    /// Lenient like Go where LODE_FORMAT.md says so (unknown keys ignored, `null` read as absent, `files: null`
    /// read as `[]`); strict where Go would fail or where §8 A1/A20 decide (integers must be plain integers;
    /// §3.4 required fields; `schema_name` must be `lode-manifest`; `format_version` major must be 1; the
    /// checksum algorithm must be known; timestamps must be RFC 3339). Keys match case-sensitively (§8 A13).
    /// - Parameter key: the object key, for error messages.
    /// - Throws: ``LodeError/Code/corruptManifest`` when the bytes are not one JSON object;
    ///   ``LodeError/Code/manifestInvalid`` naming the field otherwise.
    public static func decode(_ bytes: [UInt8], key: String? = nil) throws(LodeError) -> Manifest {
        let fields = try JSONFields(manifest: bytes, key: key)
        var files: [FileRef] = []
        for (index, element) in try fields.array("files").enumerated() {
            files.append(try FileRef.decode(element, path: "files[\(index)]", key: key))
        }
        let manifest = Manifest(
            schemaName: try fields.string("schema_name") ?? "",
            formatVersion: try fields.string("format_version") ?? "",
            datasetID: try fields.string("dataset_id") ?? "",
            snapshotID: try fields.string("snapshot_id") ?? "",
            createdAt: try fields.string("created_at") ?? "",
            metadata: try fields.object("metadata") ?? [:],
            files: files,
            parentSnapshotID: try fields.string("parent_snapshot_id").flatMap { $0.isEmpty ? nil : $0 },
            rowCount: try fields.int("row_count") ?? 0,
            minTimestamp: try fields.string("min_timestamp"),
            maxTimestamp: try fields.string("max_timestamp"),
            codec: try fields.string("codec").flatMap { $0.isEmpty ? nil : $0 },
            compressor: try fields.string("compressor") ?? "",
            partitioner: try fields.string("partitioner") ?? "",
            checksumAlgorithm: try fields.string("checksum_algorithm").flatMap { $0.isEmpty ? nil : $0 }
        )
        try manifest.validate(key: key, metadataPresent: try fields.object("metadata") != nil)
        return manifest
    }

    /// Checks §3.4 (what Go's `DatasetReader` checks, in Go's order) plus §8 A1 and A20.
    /// - Parameter metadataPresent: false when the JSON had no `metadata` object (Go: nil map → invalid).
    func validate(key: String?, metadataPresent: Bool = true) throws(LodeError) {
        func invalid(_ field: String, _ why: String) -> LodeError {
            LodeError.manifestInvalid(field: field, why, key: key)
        }
        if schemaName.isEmpty { throw invalid("schema_name", "is required") }
        if formatVersion.isEmpty { throw invalid("format_version", "is required") }
        if datasetID.isEmpty { throw invalid("dataset_id", "is required") }
        if snapshotID.isEmpty { throw invalid("snapshot_id", "is required") }
        if createdAt.isEmpty { throw invalid("created_at", "is required") }
        guard let created = LodeTimestamp.parse(createdAt) else {
            throw invalid("created_at", "'\(createdAt)' is not an RFC 3339 timestamp")
        }
        if created.isZero { throw invalid("created_at", "is required (it is Go's zero time)") }
        if !metadataPresent { throw invalid("metadata", "must not be nil (use empty map for no metadata)") }
        if rowCount < 0 { throw invalid("row_count", "must be non-negative") }
        if compressor.isEmpty { throw invalid("compressor", "is required") }
        if partitioner.isEmpty { throw invalid("partitioner", "is required") }
        for (index, file) in files.enumerated() {
            if file.path.isEmpty { throw invalid("files[\(index)].path", "is required") }
            if file.sizeBytes < 0 { throw invalid("files[\(index)].size_bytes", "must be non-negative") }
        }
        // §8 A1: pin the schema and the major version.
        if schemaName != Manifest.currentSchemaName {
            throw invalid("schema_name", "'\(schemaName)' is not '\(Manifest.currentSchemaName)'")
        }
        if !FormatVersion.isSupported(formatVersion) {
            throw invalid(
                "format_version", "'\(formatVersion)' is not supported (this reader reads major version 1 only)")
        }
        for (field, value) in [("min_timestamp", minTimestamp), ("max_timestamp", maxTimestamp)] {
            if let value, LodeTimestamp.parse(value) == nil {
                throw invalid(field, "'\(value)' is not an RFC 3339 timestamp")
            }
        }
        // §8 A20: the checksum algorithm must be known, and recorded checksums must look like one.
        if let algorithm = checksumAlgorithm {
            guard algorithm == "md5" else {
                throw invalid("checksum_algorithm", "'\(algorithm)' is unknown (only 'md5' is defined)")
            }
            for (index, file) in files.enumerated() {
                if let checksum = file.checksum, !MD5Hex.isValid(checksum) {
                    throw invalid("files[\(index)].checksum", "'\(checksum)' is not 32 lowercase hex digits")
                }
            }
        }
    }
}

extension FileRef {
    func write(to w: inout GoJSONWriter) {
        w.beginObject()
        w.key("path", first: true)
        w.string(path)
        w.key("size_bytes", first: false)
        w.int(sizeBytes)
        w.optionalString("checksum", checksum)
        if let stats {
            w.key("stats", first: false)
            w.beginObject()
            w.key("row_count", first: true)
            w.int(stats.rowCount)
            if !stats.columns.isEmpty {
                w.key("columns", first: false)
                w.beginArray()
                for (index, column) in stats.columns.enumerated() {
                    w.element(first: index == 0)
                    column.write(to: &w)
                }
                w.endArray(empty: false)
            }
            w.endObject(empty: false)
        }
        w.endObject(empty: false)
    }

    static func decode(_ value: JSONValue, path: String, key: String?) throws(LodeError) -> FileRef {
        guard case .object(let object) = value else {
            throw LodeError.manifestInvalid(field: path, "must be an object", key: key)
        }
        let fields = JSONFields(object, path: path + ".", key: key)
        var stats: FileStats?
        if let statsObject = try fields.object("stats") {
            let statsFields = JSONFields(statsObject, path: path + ".stats.", key: key)
            var columns: [ColumnStats] = []
            for (index, element) in try statsFields.array("columns").enumerated() {
                columns.append(try ColumnStats.decode(element, path: "\(path).stats.columns[\(index)]", key: key))
            }
            stats = FileStats(rowCount: try statsFields.int("row_count") ?? 0, columns: columns)
        }
        return FileRef(
            path: try fields.string("path") ?? "",
            sizeBytes: try fields.int("size_bytes") ?? 0,
            checksum: try fields.string("checksum").flatMap { $0.isEmpty ? nil : $0 },
            stats: stats)
    }
}

extension ColumnStats {
    func write(to w: inout GoJSONWriter) {
        w.beginObject()
        w.key("name", first: true)
        w.string(name)
        if let min, min != .null {
            w.key("min", first: false)
            w.write(min)
        }
        if let max, max != .null {
            w.key("max", first: false)
            w.write(max)
        }
        w.key("null_count", first: false)
        w.int(nullCount)
        if distinctCount != 0 {
            w.key("distinct_count", first: false)
            w.int(distinctCount)
        }
        w.endObject(empty: false)
    }

    static func decode(_ value: JSONValue, path: String, key: String?) throws(LodeError) -> ColumnStats {
        guard case .object(let object) = value else {
            throw LodeError.manifestInvalid(field: path, "must be an object", key: key)
        }
        let fields = JSONFields(object, path: path + ".", key: key)
        return ColumnStats(
            name: try fields.string("name") ?? "",
            min: fields.value("min").flatMap { $0 == .null ? nil : $0 },
            max: fields.value("max").flatMap { $0 == .null ? nil : $0 },
            nullCount: try fields.int("null_count") ?? 0,
            distinctCount: try fields.int("distinct_count") ?? 0)
    }
}

extension GoJSONWriter {
    /// Writes `"name": "value"` unless the value is nil or empty (Go `omitempty` on a string).
    mutating func optionalString(_ name: String, _ value: String?) {
        guard let value, !value.isEmpty else { return }
        key(name, first: false)
        string(value)
    }
}

/// Typed access to the members of a decoded JSON object, with Go's rules: a missing key or `null` is "absent";
/// a value of the wrong type is an error naming the field.
struct JSONFields {
    let object: [String: JSONValue]
    let path: String
    let key: String?

    init(_ object: [String: JSONValue], path: String, key: String?) {
        self.object = object
        self.path = path
        self.key = key
    }

    /// The fields of a manifest's top-level object.
    /// - Throws: ``LodeError/Code/corruptManifest`` when `bytes` are not one JSON object.
    init(manifest bytes: [UInt8], key: String?) throws(LodeError) {
        do {
            guard case .object(let object) = try JSONValue.parseLikeGo(bytes) else {
                throw LodeError.corruptManifest(key: key, "the top-level value is not an object")
            }
            self.init(object, path: "", key: key)
        } catch let error as JSONSyntaxError {
            throw LodeError.corruptManifest(key: key, error.description)
        } catch {
            throw error as! LodeError
        }
    }

    func value(_ name: String) -> JSONValue? {
        object[name]
    }

    private func invalid(_ name: String, _ why: String) -> LodeError {
        LodeError.manifestInvalid(field: path + name, why, key: key)
    }

    func string(_ name: String) throws(LodeError) -> String? {
        switch object[name] {
        case nil, .null?: return nil
        case .string(let text)?: return text
        default: throw invalid(name, "must be a string")
        }
    }

    /// A plain JSON integer within Int64 (Go fails on `1.0`, `1e3` and overflow).
    func int(_ name: String) throws(LodeError) -> Int64? {
        switch object[name] {
        case nil, .null?: return nil
        case .number(let text)?:
            guard let value = Int64(text) else { throw invalid(name, "'\(text)' is not a 64-bit integer") }
            return value
        default: throw invalid(name, "must be an integer")
        }
    }

    func object(_ name: String) throws(LodeError) -> [String: JSONValue]? {
        switch object[name] {
        case nil, .null?: return nil
        case .object(let members)?: return members
        default: throw invalid(name, "must be an object")
        }
    }

    /// An array; a missing key or `null` reads as `[]` (LODE_FORMAT.md §8 A6).
    func array(_ name: String) throws(LodeError) -> [JSONValue] {
        switch object[name] {
        case nil, .null?: return []
        case .array(let elements)?: return elements
        default: throw invalid(name, "must be an array")
        }
    }

    /// Whether the member is present and not `null`.
    func has(_ name: String) -> Bool {
        switch object[name] {
        case nil, .null?: return false
        default: return true
        }
    }
}

/// Format-version policy (§8 A1): major version 1, dotted decimal.
enum FormatVersion {
    static func isSupported(_ version: String) -> Bool {
        let parts = version.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.first == "1" else { return false }
        return parts.allSatisfy { !$0.isEmpty && $0.allSatisfy { $0.isASCII && $0.isNumber } }
    }
}

/// MD5 hex text checks.
enum MD5Hex {
    static func isValid(_ text: String) -> Bool {
        text.utf8.count == 32
            && text.utf8.allSatisfy { ($0 >= 0x30 && $0 <= 0x39) || ($0 >= 0x61 && $0 <= 0x66) }
    }
}
