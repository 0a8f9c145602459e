import Gzip
import Zstd

extension LodeDataset {
    /// Objects up to this stored size are read whole and verified before any of their records is delivered;
    /// larger ones are streamed and fail at their end.
    public static let verifyBeforeDeliveryLimit: Int64 = 64 * 1024 * 1024
    private static let streamChunkBytes = 1 << 20

    /// Calls `body` with every record of the snapshot, in `files` order, each line without its `\n` (and
    /// without a trailing `\r`); blank lines are skipped (Go's JSONL reader rules, §5.2).
    ///
    /// Each object is checked against its manifest entry: its size always, its MD5 when the manifest records one
    /// and `verifyChecksums` is on. An object of at most ``verifyBeforeDeliveryLimit`` stored bytes is verified
    /// before any of its lines is delivered; a larger one is streamed and fails at its end. The buffer passed to
    /// `body` is only valid during the call; nothing is allocated per line.
    ///
    /// ```swift
    /// var count = 0
    /// try await dataset.forEachRecord(in: manifest) { _ in count += 1 }
    /// ```
    /// - Throws: ``LodeError/Code/sizeMismatch``, ``LodeError/Code/checksumMismatch``,
    ///   ``LodeError/Code/notFound`` (a listed object is missing), ``LodeError/Code/corruptData`` (does not
    ///   decompress, or a line of 10 MiB or more), ``LodeError/Code/unsupportedCodec`` (raw blob or parquet
    ///   snapshot, unknown compressor), and whatever `body` throws.
    nonisolated(nonsending)
        public func forEachRecord(
            in manifest: Manifest, verifyChecksums: Bool = true, _ body: (UnsafeRawBufferPointer) throws -> Void
        ) async throws
    {
        try Self.requireJSONL(manifest, key: manifestKey(snapshotID: manifest.snapshotID))
        let compression = try StoredCompression(
            manifestName: manifest.compressor, key: manifestKey(snapshotID: manifest.snapshotID))
        let checkMD5 = verifyChecksums && manifest.checksumAlgorithm == "md5"
        var splitter = JSONLineSplitter()
        var whole: [UInt8] = []
        var chunk: [UInt8] = []
        for file in manifest.files {
            let (key, reader) = try await openDataObject(file, of: manifest)
            if reader.size != file.sizeBytes {
                throw LodeError.sizeMismatch(key: key, expected: file.sizeBytes, actual: reader.size)
            }
            let expectedMD5 = checkMD5 ? file.checksum : nil
            try splitter.begin(compression: compression, key: key)
            if reader.size <= Self.verifyBeforeDeliveryLimit {
                try await Self.readFully(reader, size: reader.size, key: key, into: &whole, scratch: &chunk)
                if let expectedMD5 {
                    let actual = whole.withUnsafeBytes { raw in
                        var hasher = MD5Hasher()
                        hasher.update(raw)
                        return hasher.finalizeHex()
                    }
                    if actual != expectedMD5 {
                        throw LodeError.checksumMismatch(key: key, expected: expectedMD5, actual: actual)
                    }
                }
                try whole.withUnsafeBytes { raw in try splitter.feed(raw, body) }
            } else {
                var hasher = MD5Hasher()
                var total: Int64 = 0
                while true {
                    let count = try await reader.read(into: &chunk, upTo: Self.streamChunkBytes)
                    if count == 0 { break }
                    total += Int64(count)
                    try chunk.withUnsafeBytes { raw in
                        if expectedMD5 != nil { hasher.update(raw) }
                        try splitter.feed(raw, body)
                    }
                }
                if total != file.sizeBytes {
                    throw LodeError.sizeMismatch(key: key, expected: file.sizeBytes, actual: total)
                }
                if let expectedMD5 {
                    let actual = hasher.finalizeHex()
                    if actual != expectedMD5 {
                        throw LodeError.checksumMismatch(key: key, expected: expectedMD5, actual: actual)
                    }
                }
            }
            try splitter.finish(body)
        }
    }

    /// The verified, decompressed bytes of one file of `manifest` (JSONL text, or a raw blob's payload).
    ///
    /// ```swift
    /// let text = try await dataset.readFile(manifest.files[0], manifest: manifest)
    /// ```
    /// - Throws: as ``forEachRecord(in:verifyChecksums:_:)`` does.
    public func readFile(_ ref: FileRef, manifest: Manifest, verifyChecksum: Bool = true) async throws -> [UInt8] {
        let compression = try StoredCompression(
            manifestName: manifest.compressor, key: manifestKey(snapshotID: manifest.snapshotID))
        let (key, whole) = try await readStoredFile(ref, manifest: manifest, verifyChecksum: verifyChecksum)
        do {
            switch compression {
            case .noop: return whole
            case .zstd: return whole.isEmpty ? [] : try Zstd.decompress(whole)
            case .gzip: return try Gzip.decompress(whole)
            }
        } catch {
            throw LodeError(
                .corruptData,
                "object '\(key)' does not decompress: it was damaged or truncated; restore it from a "
                    + "replica", key: key, cause: String(describing: error))
        }
    }

    /// The stored bytes of one file of `manifest`, still compressed, after checking their size and MD5
    /// against the manifest; for readers that decompress as they go.
    ///
    /// ```swift
    /// let (key, stored) = try await dataset.readStoredFile(manifest.files[0], manifest: manifest)
    /// ```
    /// - Parameter reusing: an array whose memory to read into (its contents are overwritten): a reader that
    ///   goes through many objects hands back the previous one's, so that each read does not fault in (and
    ///   have the kernel zero) fresh pages.
    /// - Returns: the key the object was read from and its bytes.
    /// - Throws: as ``readFile(_:manifest:verifyChecksum:)`` does, except for decompression errors.
    public func readStoredFile(
        _ ref: FileRef, manifest: Manifest, verifyChecksum: Bool = true, reusing: consuming [UInt8] = []
    ) async throws -> (key: String, bytes: [UInt8]) {
        if let codec = manifest.codec, codec != "jsonl" {
            throw LodeError(
                .unsupportedCodec, "codec '\(codec)' of snapshot '\(manifest.snapshotID)' is not supported",
                key: manifestKey(snapshotID: manifest.snapshotID))
        }
        let (key, reader) = try await openDataObject(ref, of: manifest)
        if reader.size != ref.sizeBytes {
            throw LodeError.sizeMismatch(key: key, expected: ref.sizeBytes, actual: reader.size)
        }
        var whole = reusing
        var scratch: [UInt8] = []
        try await Self.readFully(reader, size: reader.size, key: key, into: &whole, scratch: &scratch)
        if verifyChecksum, manifest.checksumAlgorithm == "md5", let expected = ref.checksum {
            let actual = MD5Hasher.hex(of: whole)
            if actual != expected { throw LodeError.checksumMismatch(key: key, expected: expected, actual: actual) }
        }
        return (key, whole)
    }

    // MARK: Internals

    static func requireJSONL(_ manifest: Manifest, key: String) throws(LodeError) {
        switch manifest.codec {
        case "jsonl"?: return
        case nil:
            throw LodeError(
                .unsupportedCodec,
                "snapshot '\(manifest.snapshotID)' is a raw blob (no codec) and has no records; read it with readFile",
                key: key)
        case let codec?:
            throw LodeError(
                .unsupportedCodec,
                "codec '\(codec)' of snapshot '\(manifest.snapshotID)' is not supported (only jsonl and raw blobs are)",
                key: key)
        }
    }

    /// Opens a listed object. `path` is a full key (§8 A2); when it is missing and does not start with the
    /// dataset prefix, it is tried once relative to the snapshot directory.
    func openDataObject(_ file: FileRef, of manifest: Manifest) async throws -> (String, any ObjectReader) {
        do {
            return (file.path, try await store.openReader(file.path))
        } catch let error as LodeError where error.code == .notFound {
            if !file.path.hasPrefix(layout.datasetPrefix(dataset: manifest.datasetID)) {
                let relative =
                    layout.snapshotDirectory(dataset: manifest.datasetID, snapshot: manifest.snapshotID) + "/"
                    + file.path
                if let reader = try? await store.openReader(relative) { return (relative, reader) }
            }
            throw LodeError(
                .notFound,
                "object '\(file.path)' listed by snapshot '\(manifest.snapshotID)' is missing: the archive is "
                    + "incomplete; restore the object from a replica", key: file.path)
        } catch let error as LodeError where error.code == .invalidPath {
            throw LodeError(
                .manifestInvalid,
                "snapshot '\(manifest.snapshotID)' lists '\(file.path)', which is not a valid key", key: file.path,
                field: "files.path")
        }
    }

    /// Reads exactly `size` bytes into `whole` (one `pread` for a file store).
    static func readFully(
        _ reader: any ObjectReader, size: Int64, key: String, into whole: inout [UInt8], scratch: inout [UInt8]
    ) async throws {
        let want = Int(size)
        _ = try await reader.read(into: &whole, upTo: want)
        while whole.count < want {
            let count = try await reader.read(into: &scratch, upTo: want - whole.count)
            if count == 0 { break }
            whole.append(contentsOf: scratch)
        }
        if whole.count != want {
            throw LodeError.sizeMismatch(key: key, expected: size, actual: Int64(whole.count))
        }
    }
}
