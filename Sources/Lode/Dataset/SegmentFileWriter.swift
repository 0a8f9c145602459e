import Glibc

/// Streams records into a local, compressed staging file, ready to be published as one data object.
///
/// Each ``append(line:)`` adds one JSON value and its `\n`; bytes are compressed as they arrive and written to
/// a temporary file, so memory stays bounded (a 256 KiB input buffer plus ~1 MiB of compressed output).
/// ``finish()`` returns the file's path, stored size, MD5 and counts; publish it with
/// ``LodeDataset/publish(_:as:)`` or ``ObjectStore/putFile(_:fromLocalFile:)``, then delete the local file.
///
/// Not thread-safe: one writer per task.
///
/// ```swift
/// let writer = try SegmentFileWriter(compressor: .zstd(level: 3))
/// try line.withUnsafeBytes { try writer.append(line: $0) }
/// let staged = try writer.finish()
/// let ref = try await dataset.publish(staged, as: dataset.dataFileKey(snapshotID: id, fileName: "data.zst"))
/// ```
public final class SegmentFileWriter {
    /// Lines of this size or more are refused (LODE_FORMAT.md §8 A16; Go cannot read lines ≥ 10 MiB).
    public static let defaultMaxLineBytes = 8 * 1024 * 1024
    private static let inputBufferBytes = 256 * 1024
    private static let outputFlushBytes = 1 << 20

    /// The local staging file.
    public let path: String
    public let compressor: LodeCompressor
    public let maxLineBytes: Int
    private let fd: Int32
    private let stream: StreamCompressor
    private var input: [UInt8] = []
    private var output: [UInt8] = []
    private var hasher = MD5Hasher()
    private var rowCount: Int64 = 0
    private var uncompressedBytes: Int64 = 0
    private var storedBytes: Int64 = 0
    private var state: State = .open

    private enum State { case open, finished, discarded }

    /// Creates the staging file.
    /// - Parameters:
    ///   - compressor: the dataset's compressor.
    ///   - directory: where to create the file; `$TMPDIR` or `/tmp` by default. On the store's filesystem a
    ///     ``FileStore`` publishes it with a hard link instead of a copy.
    ///   - maxLineBytes: refuse longer records (default 8 MiB).
    /// - Throws: ``LodeError`` when the file cannot be created or the compressor level is invalid.
    public init(
        compressor: LodeCompressor, directory: String? = nil, maxLineBytes: Int = defaultMaxLineBytes
    )
        throws
    {
        self.compressor = compressor
        self.maxLineBytes = min(maxLineBytes, JSONLineSplitter.maxLineBytes - 1)
        self.stream = try StreamCompressor(compressor)
        let dir = directory ?? Self.defaultDirectory()
        let path = dir + "/.lode-stage-" + POSIX.randomSuffix() + compressor.fileExtension
        do {
            self.fd = try POSIX.open(path, O_WRONLY | O_CREAT | O_EXCL, mode: 0o644)
        } catch {
            throw LodeError(error, key: nil)
        }
        self.path = path
        input.reserveCapacity(Self.inputBufferBytes + 64 * 1024)
        output.reserveCapacity(Self.outputFlushBytes + 256 * 1024)
    }

    deinit {
        if state == .open {
            POSIX.close(fd)
            POSIX.unlink(path)
        }
    }

    /// Appends one record: `line` (one JSON value, no newline) followed by `\n`.
    /// - Throws: ``LodeError/Code/invalidRecord`` for an empty line, one containing `\n`, or one of
    ///   ``maxLineBytes`` or more; ``LodeError/Code/io`` for a write failure.
    public func append(line: UnsafeRawBufferPointer) throws {
        guard state == .open else { throw closedError() }
        guard !line.isEmpty else {
            throw LodeError(.invalidRecord, "an empty record cannot be written: JSONL never holds blank lines")
        }
        guard line.count < maxLineBytes else {
            throw LodeError(
                .invalidRecord,
                "a record of \(line.count) bytes is too large (the limit is \(maxLineBytes) bytes; Go Lode cannot "
                    + "read lines of 10 MiB or more)")
        }
        if memchr(line.baseAddress!, Int32(UInt8(ascii: "\n")), line.count) != nil {
            throw LodeError(.invalidRecord, "a record must not contain a newline: write compact JSON, one per line")
        }
        input.append(contentsOf: line)
        input.append(UInt8(ascii: "\n"))
        rowCount += 1
        uncompressedBytes += Int64(line.count + 1)
        if input.count >= Self.inputBufferBytes { try compressInput() }
    }

    /// Appends one record given as bytes.
    public func append(line: [UInt8]) throws {
        try line.withUnsafeBytes { try append(line: $0) }
    }

    /// Appends raw payload bytes with no framing (raw-blob mode); they are not counted as rows.
    public func append(raw bytes: UnsafeRawBufferPointer) throws {
        guard state == .open else { throw closedError() }
        uncompressedBytes += Int64(bytes.count)
        if bytes.count >= Self.inputBufferBytes {
            try compressInput()
            try compress(bytes)
        } else {
            input.append(contentsOf: bytes)
            if input.count >= Self.inputBufferBytes { try compressInput() }
        }
    }

    /// Ends the compressed stream, writes and fsyncs the file, and describes it.
    /// - Returns: the staged file; the caller owns (and eventually deletes) ``StagedFile/path``.
    public func finish() throws -> StagedFile {
        guard state == .open else { throw closedError() }
        do {
            try compressInput()
            do {
                try stream.finish(into: &output)
            } catch {
                throw LodeError(.io, "compression failed for '\(path)'", cause: String(describing: error))
            }
            try flushOutput()
            try POSIX.fsync(fd, path: path)
        } catch {
            discard()
            throw LodeError(error, key: nil)
        }
        POSIX.close(fd)
        state = .finished
        return StagedFile(
            path: path, storedSize: storedBytes, md5Hex: hasher.finalizeHex(), rowCount: rowCount,
            uncompressedBytes: uncompressedBytes)
    }

    /// Abandons the file and deletes it.
    public func discard() {
        guard state == .open else { return }
        POSIX.close(fd)
        POSIX.unlink(path)
        state = .discarded
    }

    private func compressInput() throws {
        guard !input.isEmpty else { return }
        try input.withUnsafeBytes { try compress($0) }
        input.removeAll(keepingCapacity: true)
    }

    private func compress(_ bytes: UnsafeRawBufferPointer) throws {
        do {
            try stream.compress(bytes, into: &output)
        } catch {
            throw LodeError(.io, "compression failed for '\(path)'", cause: String(describing: error))
        }
        if output.count >= Self.outputFlushBytes { try flushOutput() }
    }

    private func flushOutput() throws {
        guard !output.isEmpty else { return }
        let path = self.path
        let fd = self.fd
        do {
            try output.withUnsafeBytes { raw in
                hasher.update(raw)
                try POSIX.writeAll(fd, raw, path: path)
            }
        } catch {
            throw LodeError(error, key: nil)
        }
        storedBytes += Int64(output.count)
        output.removeAll(keepingCapacity: true)
    }

    private func closedError() -> LodeError {
        LodeError(.invalidConfiguration, "the staging file '\(path)' was already finished or discarded")
    }

    private static func defaultDirectory() -> String {
        if let tmp = getenv("TMPDIR"), tmp.pointee != 0 {
            var dir = String(cString: tmp)
            while dir.count > 1, dir.hasSuffix("/") { dir.removeLast() }
            return dir
        }
        return "/tmp"
    }
}

@available(*, unavailable)
extension SegmentFileWriter: Sendable {}

/// A finished staging file: what a ``FileRef`` needs, plus counts for the caller's metadata.
public struct StagedFile: Sendable, Hashable {
    /// The local file; publish it, then delete it.
    public var path: String
    /// Bytes stored (after compression) — the manifest's `size_bytes`.
    public var storedSize: Int64
    /// Lowercase hex MD5 of the stored bytes — the manifest's `checksum` when checksums are on.
    public var md5Hex: String
    /// Records appended with ``SegmentFileWriter/append(line:)``.
    public var rowCount: Int64
    /// Bytes before compression (records plus newlines).
    public var uncompressedBytes: Int64

    public init(path: String, storedSize: Int64, md5Hex: String, rowCount: Int64, uncompressedBytes: Int64) {
        self.path = path
        self.storedSize = storedSize
        self.md5Hex = md5Hex
        self.rowCount = rowCount
        self.uncompressedBytes = uncompressedBytes
    }

    /// The manifest entry for this file published under `key`.
    public func fileRef(key: String, checksum: LodeChecksum) -> FileRef {
        FileRef(path: key, sizeBytes: storedSize, checksum: checksum == .md5 ? md5Hex : nil)
    }

    /// Deletes the local file (a missing file is fine).
    public func removeLocalFile() {
        POSIX.unlink(path)
    }
}
