extension LodeDataset {
    /// Writes one snapshot of records, Go `Write`-style: picks a new snapshot ID, stages and publishes one data
    /// object per partition, then commits (§4.7).
    ///
    /// ```swift
    /// let manifest = try await dataset.write(records: [Array(#"{"id":1}"#.utf8)], metadata: ["k": "v"])
    /// ```
    /// - Parameters:
    ///   - records: one JSON value per element, without a newline; each is checked to be valid JSON.
    ///   - metadata: stored verbatim in the manifest.
    ///   - partitionValues: hive only: the partition values of a record, in the layout's key order.
    /// - Returns: the committed manifest. Zero records give a snapshot with one empty data object (default and
    ///   flat layouts) or none (hive), `row_count` 0.
    /// - Throws: ``LodeError/Code/invalidRecord``, ``LodeError/Code/invalidConfiguration``,
    ///   ``LodeError/Code/snapshotConflict`` (another writer committed meanwhile; nothing is retried) and store
    ///   errors. Data objects published before a failure stay behind as orphans (as in Go).
    public func write(
        records: [[UInt8]], metadata: [String: JSONValue] = [:],
        partitionValues: (([UInt8]) throws -> [String])? = nil
    ) async throws -> Manifest {
        guard configuration.codec == .jsonl else {
            throw LodeError(
                .invalidConfiguration, "dataset '\(id)' has no codec (raw blob); write a blob with write(blob:)")
        }
        try layout.validateForWriting()
        for (index, record) in records.enumerated() {
            do {
                _ = try JSONValue.parseLikeGo(record)
            } catch {
                throw LodeError(.invalidRecord, "record \(index) is not one valid JSON value: \(error)")
            }
        }
        // Group by partition (hive) — keys are encoded partition paths, in sorted order.
        var groups: [String: [Int]] = [:]
        if layout.isHive {
            guard let partitionValues else {
                throw LodeError(
                    .invalidConfiguration, "the hive layout of dataset '\(id)' needs partitionValues for each record")
            }
            for (index, record) in records.enumerated() {
                groups[try layout.partitionPath(values: try partitionValues(record)), default: []].append(index)
            }
        } else {
            if partitionValues != nil {
                throw LodeError(
                    .invalidConfiguration, "only the hive layout takes partitionValues (layout is \(layout))")
            }
            groups[""] = Array(records.indices)
        }
        let snapshotID = SnapshotIDs.next(after: try await latestPointer())
        var files: [FileRef] = []
        for partition in groups.keys.sorted(by: ObjectKey.byteOrder) {
            let writer = try makeSegmentWriter()
            do {
                for index in groups[partition]! { try writer.append(line: records[index]) }
            } catch {
                writer.discard()
                throw error
            }
            let staged = try await writer.finish()
            defer { staged.removeLocalFile() }
            let key = layout.dataFileKey(
                dataset: id, snapshot: snapshotID, partition: partition, fileName: defaultFileName)
            files.append(try await publish(staged, as: key))
        }
        return try await commit(
            snapshotID: snapshotID, files: files, rowCount: Int64(records.count), metadata: metadata,
            partitionPaths: groups.keys.filter { !$0.isEmpty }.sorted(by: ObjectKey.byteOrder))
    }

    /// Writes one raw-blob snapshot (codec `.none`): one object `blob<ext>`, `row_count` 1 (§5.3).
    /// - Throws: ``LodeError/Code/invalidConfiguration`` when the dataset has a codec; store errors.
    public func write(blob: [UInt8], metadata: [String: JSONValue] = [:]) async throws -> Manifest {
        guard configuration.codec == .none else {
            throw LodeError(
                .invalidConfiguration, "dataset '\(id)' encodes records (codec jsonl); use write(records:) instead")
        }
        let snapshotID = SnapshotIDs.next(after: try await latestPointer())
        let writer = try makeSegmentWriter()
        try blob.withUnsafeBytes { try writer.append(raw: $0) }
        let staged = try await writer.finish()
        defer { staged.removeLocalFile() }
        let ref = try await publish(staged, as: dataFileKey(snapshotID: snapshotID))
        return try await commit(snapshotID: snapshotID, files: [ref], rowCount: 1, metadata: metadata)
    }

    /// Publishes a staged file as the data object `key` (create-only) and returns its manifest entry.
    ///
    /// If `key` already exists — a retry of the same intent after a crash (§4.7 step 2) — the existing object is
    /// reused when its size and MD5 equal the staged file's; otherwise this fails loudly.
    /// - Throws: ``LodeError/Code/pathExists`` when a different object holds the key; store errors.
    public func publish(_ staged: StagedFile, as key: String) async throws -> FileRef {
        do {
            try await store.putFile(key, fromLocalFile: staged.path)
        } catch let error as LodeError where error.code == .pathExists {
            let (size, md5) = try await objectDigest(key)
            guard size == staged.storedSize, md5 == staged.md5Hex else {
                throw LodeError(
                    .pathExists,
                    "object '\(key)' already exists with different content (\(size) bytes, MD5 \(md5); staged "
                        + "\(staged.storedSize) bytes, MD5 \(staged.md5Hex)): another writer used this snapshot "
                        + "ID; choose a new one", key: key, expected: staged.md5Hex, actual: md5)
            }
        }
        return staged.fileRef(key: key, checksum: configuration.checksum)
    }

    /// Commits a snapshot whose data objects are already stored (§4.7 steps 3–5).
    ///
    /// Resolves the parent (the pointer when its manifest exists — re-read a few times if it names a missing one,
    /// then a scan), CASes the pointer from its exact current content to `snapshotID`, then puts the manifest(s)
    /// create-only: for hive the canonical manifest first, then one copy per partition path.
    ///
    /// ```swift
    /// let manifest = try await dataset.commit(
    ///     snapshotID: id, files: [ref], rowCount: 2, metadata: ["archiver.stream": "orders"],
    ///     expectedParent: previousHead)
    /// ```
    /// - Parameters:
    ///   - files: the snapshot's objects (sorted by path here).
    ///   - minTimestamp, maxTimestamp: RFC 3339, when known; written in Go's `time.Time` JSON form (fraction
    ///     trimmed, ``LodeTimestamp/goJSONForm(_:)``), so Go and Swift manifests of the same facts are identical.
    ///   - partitionPaths: hive only: the encoded partition paths (`day=2026-01-01`) of the files.
    ///   - expectedParent: when given, the resolved parent must be this snapshot (`""` = no parent: the first
    ///     snapshot), else ``LodeError/Code/snapshotConflict``.
    ///   - afterCanonicalManifest: called between the canonical manifest and its partition copies (where the
    ///     crash tests kill a writer: a retry must then write the copies, see ``repairPartitionCopies(of:)``).
    /// - Returns: the committed manifest.
    /// - Throws: ``LodeError/Code/pathExists`` when a manifest of `snapshotID` already exists (the snapshot was
    ///   committed before: the caller decides); ``LodeError/Code/snapshotConflict`` (retryable: another writer
    ///   committed; re-resolve and retry with the same ID); ``LodeError/Code/componentMismatch`` when the parent
    ///   used another codec or compressor (§8 A12); ``LodeError/Code/invalidConfiguration`` for bad arguments.
    public func commit(
        snapshotID: String, files: [FileRef], rowCount: Int64, metadata: [String: JSONValue] = [:],
        minTimestamp: String? = nil, maxTimestamp: String? = nil, partitionPaths: [String] = [],
        expectedParent: String? = nil, afterCanonicalManifest: () -> Void = {}
    ) async throws -> Manifest {
        try LodeLayout.validateSnapshotIDForWriting(snapshotID)
        try validateCommitArguments(
            files: files, rowCount: rowCount, minTimestamp: minTimestamp, maxTimestamp: maxTimestamp,
            partitionPaths: partitionPaths)
        let canonicalKey = manifestKey(snapshotID: snapshotID)
        if try await store.exists(canonicalKey) {
            throw LodeError(
                .pathExists, "snapshot '\(snapshotID)' is already committed ('\(canonicalKey)' exists)",
                key: canonicalKey)
        }
        var (parent, expectedPointer) = try await resolveParent(committing: snapshotID)
        if let expectedParent, let resolved = parent, resolved != expectedParent,
            try await descends(expectedParent, from: resolved)
        {
            // The pointer was left behind the chain (rolled back): the expected parent is the real head. The CAS
            // below moves the pointer from its stale value to this commit, as any commit moves it.
            parent = expectedParent
        }
        if let expectedParent, (parent ?? "") != expectedParent {
            throw LodeError(
                .snapshotConflict,
                "the head of dataset '\(id)' is '\(parent ?? "(none)")', not the expected "
                    + "'\(expectedParent.isEmpty ? "(none)" : expectedParent)': another writer committed",
                key: latestPointerKey, expected: expectedParent, actual: parent ?? "")
        }
        let manifest = Manifest(
            datasetID: id, snapshotID: snapshotID, createdAt: LodeTimestamp.now().rfc3339, metadata: metadata,
            files: files.sorted { ObjectKey.byteOrder($0.path, $1.path) }, parentSnapshotID: parent,
            rowCount: rowCount, minTimestamp: minTimestamp.flatMap(LodeTimestamp.goJSONForm),
            maxTimestamp: maxTimestamp.flatMap(LodeTimestamp.goJSONForm),
            codec: configuration.codec.manifestName, compressor: configuration.compressor.manifestName,
            partitioner: layout.partitionerName, checksumAlgorithm: configuration.checksum.manifestName)
        let bytes = manifest.jsonBytes()

        // Pointer first (Go's order): if this fails no manifest is written and the commit is abandoned.
        try await store.compareAndSwap(latestPointerKey, expected: expectedPointer, replacement: snapshotID)
        try await store.put(canonicalKey, bytes)
        afterCanonicalManifest()
        var written: Set<String> = [canonicalKey]
        for partition in partitionPaths where !partition.isEmpty {
            let key = layout.manifestKey(dataset: id, snapshot: snapshotID, partition: partition)
            guard written.insert(key).inserted else { continue }
            do {
                try await store.put(key, bytes)
            } catch let error as LodeError where error.code == .pathExists {
                // Left by an earlier attempt of this very commit: fine if identical.
                guard try await store.get(key) == bytes else { throw error }
            }
        }
        return manifest
    }

    // MARK: Internals

    private func validateCommitArguments(
        files: [FileRef], rowCount: Int64, minTimestamp: String?, maxTimestamp: String?, partitionPaths: [String]
    ) throws {
        guard rowCount >= 0 else { throw LodeError(.invalidConfiguration, "row count \(rowCount) is negative") }
        for file in files {
            try ObjectKey.validate(file.path)
            guard file.sizeBytes >= 0 else {
                throw LodeError(.invalidConfiguration, "file '\(file.path)' has a negative size")
            }
            if configuration.checksum == .md5 {
                guard let checksum = file.checksum, MD5Hex.isValid(checksum) else {
                    throw LodeError(
                        .invalidConfiguration,
                        "file '\(file.path)' needs an MD5 checksum (32 lowercase hex digits): the dataset uses md5")
                }
            }
        }
        if Set(files.map(\.path)).count != files.count {
            throw LodeError(.invalidConfiguration, "a file is listed twice in one snapshot")
        }
        for (name, value) in [("min", minTimestamp), ("max", maxTimestamp)] {
            if let value, LodeTimestamp.parse(value) == nil {
                throw LodeError(.invalidConfiguration, "\(name) timestamp '\(value)' is not RFC 3339")
            }
        }
        if !partitionPaths.isEmpty {
            guard layout.isHive else {
                throw LodeError(
                    .invalidConfiguration, "only the hive layout takes partition paths (layout is \(layout))")
            }
            for path in partitionPaths { try ObjectKey.validate(path) }
        }
        try layout.validateForWriting()
    }

    /// §4.2 step 4 / §4.7 step 3: the parent and the exact pointer content to CAS from.
    private func resolveParent(committing snapshotID: String) async throws -> (parent: String?, expected: String) {
        var attempts = 0
        while true {
            let raw = try await rawLatestPointer()
            let pointer = Self.trimSpace(raw ?? "")
            if pointer.isEmpty { return (try await parentByScan(excluding: snapshotID), raw ?? "") }
            if pointer == snapshotID {
                // An earlier attempt of this very commit swapped the pointer, then stopped before the manifest.
                return (try await parentByScan(excluding: snapshotID), raw ?? "")
            }
            if (try? LodeLayout.validateSnapshotIDForReading(pointer)) != nil,
                let manifest = try await loadManifest(snapshotID: pointer, key: manifestKey(snapshotID: pointer))
            {
                try checkComponents(of: manifest)
                return (pointer, raw ?? "")
            }
            // The pointer names a missing manifest: maybe another writer's commit in flight. Wait, re-read.
            if attempts < configuration.pointerSettleAttempts {
                attempts += 1
                try await Task.sleep(for: configuration.pointerSettleDelay)
                continue
            }
            return (try await parentByScan(excluding: snapshotID), raw ?? "")
        }
    }

    /// True when `snapshotID` has a manifest whose parent links lead back to `ancestor`.
    private func descends(_ snapshotID: String, from ancestor: String) async throws -> Bool {
        guard !snapshotID.isEmpty, (try? LodeLayout.validateSnapshotIDForReading(snapshotID)) != nil else {
            return false
        }
        var current = snapshotID
        // IDs grow along the chain (§4.7 step 1): the walk stops at the first ID not after `ancestor`.
        while ObjectKey.byteOrder(ancestor, current),
            let manifest = try await loadManifest(snapshotID: current, key: manifestKey(snapshotID: current)),
            let parent = manifest.parent
        {
            if parent == ancestor { return true }
            current = parent
        }
        return false
    }

    private func parentByScan(excluding snapshotID: String) async throws -> String? {
        var keys = try await manifestKeys()
        keys[snapshotID] = nil
        guard let newest = keys.values.max(by: { ObjectKey.byteOrder($0.snapshot, $1.snapshot) }) else { return nil }
        guard let manifest = try await loadManifest(snapshotID: newest.snapshot, key: newest.key) else { return nil }
        try checkComponents(of: manifest)
        return manifest.snapshotID
    }

    /// §8 A12: one codec and compressor per dataset.
    private func checkComponents(of parent: Manifest) throws {
        if parent.codec != configuration.codec.manifestName
            || parent.compressor != configuration.compressor.manifestName
        {
            throw LodeError(
                .componentMismatch,
                "dataset '\(id)' was written with codec \(parent.codec ?? "none") and compressor \(parent.compressor) "
                    + "(snapshot '\(parent.snapshotID)') but is configured with codec "
                    + "\(configuration.codec.manifestName ?? "none") and compressor "
                    + "\(configuration.compressor.manifestName); keep the components or start a new dataset ID",
                key: manifestKey(snapshotID: parent.snapshotID))
        }
    }

    /// Size and MD5 of a stored object, streamed.
    func objectDigest(_ key: String) async throws -> (Int64, String) {
        let reader = try await store.openReader(key)
        var hasher = MD5Hasher()
        var chunk: [UInt8] = []
        var total: Int64 = 0
        while true {
            let count = try await reader.read(into: &chunk, upTo: 1 << 20)
            if count == 0 { break }
            total += Int64(count)
            chunk.withUnsafeBytes { hasher.update($0) }
        }
        return (total, hasher.finalizeHex())
    }
}
