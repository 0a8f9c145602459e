import Crypto
import Dispatch
import Synchronization
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Streams records into a local, compressed staging file, ready to be published as one data object.
///
/// Each ``append(line:)`` adds one JSON value and its `\n`; bytes are compressed as they arrive and written to
/// a temporary file, so memory stays bounded (a 1 MiB input buffer plus ~1 MiB of compressed output).
/// zstd output is a sequence of frames of about 1 MiB of input each, every one ending at a record boundary
/// and recording its content size, so readers can decompress the frames of one object in parallel. Each frame's
/// offset and SHA-256 are noted (``StagedFile/frames``), and ``nextLineStartsFrame`` tells a caller which records
/// start a frame, so a manifest can index the frames and a reader check one frame without the whole object.
/// ``finish()`` returns the file's path, stored size, MD5 and counts; publish it with
/// ``LodeDataset/publish(_:as:)`` or ``ObjectStore/putFile(_:fromLocalFile:)``, then delete the local file.
///
/// With `background: true`, compression, MD5 and the file writes run on a serial worker queue while the
/// caller goes on appending (at most two input buffers in flight), so encoding and compressing use two cores.
///
/// Not thread-safe: one writer per task.
///
/// ```swift
/// let writer = try SegmentFileWriter(compressor: .zstd(level: 3))
/// try line.withUnsafeBytes { try writer.append(line: $0) }
/// let staged = try await writer.finish()
/// let ref = try await dataset.publish(staged, as: dataset.dataFileKey(snapshotID: id, fileName: "data.zst"))
/// ```
public final class SegmentFileWriter {
    /// Lines of this size or more are refused (LODE_FORMAT.md §8 A16; Go cannot read lines ≥ 10 MiB).
    public static let defaultMaxLineBytes = 8 * 1024 * 1024
    /// Input compressed at a time; for zstd each buffer becomes one frame (records never straddle frames).
    private static let inputBufferBytes = 1 << 20
    private static let outputFlushBytes = 1 << 20

    /// The local staging file.
    public let path: String
    public let compressor: LodeCompressor
    public let maxLineBytes: Int
    private let sink: CompressedSink
    private let worker: DispatchQueue?
    private let inFlight: DispatchSemaphore?
    private var input: [UInt8] = []
    private var rowCount: Int64 = 0
    private var uncompressedBytes: Int64 = 0
    private var state: State = .open

    private enum State { case open, finished, discarded }

    /// Creates the staging file.
    /// - Parameters:
    ///   - compressor: the dataset's compressor.
    ///   - directory: where to create the file; `$TMPDIR` or `/tmp` by default. On the store's filesystem a
    ///     ``FileStore`` publishes it with a hard link instead of a copy.
    ///   - maxLineBytes: refuse longer records (default 8 MiB).
    ///   - background: compress, hash and write on a worker queue instead of the caller's thread.
    /// - Throws: ``LodeError`` when the file cannot be created or the compressor level is invalid.
    public init(
        compressor: LodeCompressor, directory: String? = nil, maxLineBytes: Int = defaultMaxLineBytes,
        background: Bool = false
    )
        throws
    {
        self.compressor = compressor
        self.maxLineBytes = min(maxLineBytes, JSONLineSplitter.maxLineBytes - 1)
        let stream = try StreamCompressor(compressor)
        let dir = directory ?? Self.defaultDirectory()
        let path = dir + "/.lode-stage-" + POSIX.randomSuffix() + compressor.fileExtension
        let fd: Int32
        do {
            fd = try POSIX.open(path, O_WRONLY | O_CREAT | O_EXCL, mode: 0o644)
        } catch {
            throw LodeError(error, key: nil)
        }
        self.path = path
        self.sink = CompressedSink(fd: fd, path: path, stream: stream, flushBytes: Self.outputFlushBytes)
        worker = background ? DispatchQueue(label: "lode.segment-writer") : nil
        inFlight = background ? DispatchSemaphore(value: 2) : nil
        input.reserveCapacity(Self.inputBufferBytes + 64 * 1024)
    }

    deinit {
        if state == .open {
            worker?.sync {}
            POSIX.close(sink.fd)
            POSIX.unlink(path)
        }
    }

    /// Appends one record: `line` (one JSON value, no newline) followed by `\n`.
    /// - Throws: ``LodeError/Code/invalidRecord`` for an empty line, one containing `\n`, or one of
    ///   ``maxLineBytes`` or more; ``LodeError/Code/io`` for a write failure.
    public func append(line: UnsafeRawBufferPointer) throws {
        try append(line: line, then: UnsafeRawBufferPointer(start: nil, count: 0))
    }

    /// Appends one record whose line is `line` followed by `rest` (a writer that builds a record in two pieces
    /// saves joining them first), then `\n`. Throws as ``append(line:)`` does for the whole line.
    public func append(line: UnsafeRawBufferPointer, then rest: UnsafeRawBufferPointer) throws {
        guard state == .open else { throw closedError() }
        let count = line.count + rest.count
        guard count > 0 else {
            throw LodeError(.invalidRecord, "an empty record cannot be written: JSONL never holds blank lines")
        }
        guard count < maxLineBytes else {
            throw LodeError(
                .invalidRecord,
                "a record of \(count) bytes is too large (the limit is \(maxLineBytes) bytes; Go Lode cannot "
                    + "read lines of 10 MiB or more)")
        }
        if Self.containsNewline(line) || Self.containsNewline(rest) {
            throw LodeError(.invalidRecord, "a record must not contain a newline: write compact JSON, one per line")
        }
        input.append(contentsOf: line)
        input.append(contentsOf: rest)
        input.append(UInt8(ascii: "\n"))
        rowCount += 1
        uncompressedBytes += Int64(count + 1)
        if input.count >= Self.inputBufferBytes { try compressInput() }
    }

    /// True when the next record appended will be the first of a new zstd frame (frames end only between
    /// records). Always false for other compressors, which write no independent frames.
    public var nextLineStartsFrame: Bool {
        state == .open && input.isEmpty && sink.writesFrames
    }

    @inline(__always)
    private static func containsNewline(_ bytes: UnsafeRawBufferPointer) -> Bool {
        guard let base = bytes.baseAddress, !bytes.isEmpty else { return false }
        return memchr(base, Int32(UInt8(ascii: "\n")), bytes.count) != nil
    }

    /// Appends one record given as bytes.
    public func append(line: [UInt8]) throws {
        try line.withUnsafeBytes { try append(line: $0) }
    }

    /// Appends raw payload bytes with no framing (raw-blob mode); they are not counted as rows.
    public func append(raw bytes: UnsafeRawBufferPointer) throws {
        guard state == .open else { throw closedError() }
        uncompressedBytes += Int64(bytes.count)
        input.append(contentsOf: bytes)
        if input.count >= Self.inputBufferBytes { try compressInput() }
    }

    /// Ends the compressed stream, writes and fsyncs the file, and describes it.
    ///
    /// The last compression and the fsync run on the worker queue (a global queue without one) while the task
    /// is suspended: an fsync may take long, and blocking a thread of Swift's small cooperative pool on it stalls
    /// every other task (lease renewals among them).
    /// - Returns: the staged file; the caller owns (and eventually deletes) ``StagedFile/path``.
    public func finish() async throws -> StagedFile {
        guard state == .open else { throw closedError() }
        let sink = self.sink
        do {
            try compressInput()
            try await Self.run(on: worker ?? .global()) { try sink.finish() }
        } catch {
            discard()
            throw LodeError(error, key: nil)
        }
        POSIX.close(sink.fd)
        state = .finished
        return StagedFile(
            path: path, storedSize: sink.storedBytes, md5Hex: sink.hasher.finalizeHex(), rowCount: rowCount,
            uncompressedBytes: uncompressedBytes, frames: sink.frames)
    }

    /// Runs `work` on `queue` after the jobs already queued there, resuming the caller when it is done.
    private static func run(on queue: DispatchQueue, _ work: @escaping @Sendable () throws -> Void) async throws {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
            queue.async { continuation.resume(with: Result { try work() }) }
        }
    }

    /// Abandons the file and deletes it.
    public func discard() {
        guard state == .open else { return }
        worker?.sync {}
        POSIX.close(sink.fd)
        POSIX.unlink(path)
        state = .discarded
    }

    /// Hands the buffered input to the compressor: inline, or to the worker (waiting while two buffers are
    /// in flight). A worker's failure is reported by the next call and by ``finish()``.
    private func compressInput() throws {
        guard !input.isEmpty else { return }
        let sink = self.sink
        guard let worker, let inFlight else {
            try input.withUnsafeBytes { try sink.compress($0) }
            input.removeAll(keepingCapacity: true)
            return
        }
        if let failure = sink.failure.withLock({ $0 }) { throw failure }
        inFlight.wait()
        let buffer = input
        input = []
        input.reserveCapacity(Self.inputBufferBytes + 64 * 1024)
        worker.async {
            if sink.failure.withLock({ $0 == nil }) {
                do {
                    try buffer.withUnsafeBytes { try sink.compress($0) }
                } catch {
                    sink.failure.withLock { $0 = LodeError(error, key: nil) }
                }
            }
            inFlight.signal()
        }
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

/// The compressing, hashing, writing end of a ``SegmentFileWriter``: used by one thread at a time (the
/// caller's, or the writer's serial worker queue, which ``SegmentFileWriter/finish()`` joins); `failure` is
/// shared.
private final class CompressedSink: @unchecked Sendable {
    let fd: Int32
    let path: String
    let stream: StreamCompressor
    let flushBytes: Int
    var output: [UInt8] = []
    var hasher = MD5Hasher()
    var storedBytes: Int64 = 0
    /// The zstd frames written so far (none for other compressors).
    var frames: [StagedFrame] = []
    let writesFrames: Bool
    private var wroteInput = false
    let failure = Mutex<LodeError?>(nil)

    init(fd: Int32, path: String, stream: StreamCompressor, flushBytes: Int) {
        self.fd = fd
        self.path = path
        self.stream = stream
        self.flushBytes = flushBytes
        if case .zstd = stream { writesFrames = true } else { writesFrames = false }
        output.reserveCapacity(flushBytes + 256 * 1024)
    }

    func compress(_ bytes: UnsafeRawBufferPointer) throws {
        if !bytes.isEmpty { wroteInput = true }
        let start = output.count
        do {
            try stream.compress(bytes, into: &output)
        } catch {
            throw LodeError(.io, "compression failed for '\(path)'", cause: String(describing: error))
        }
        noteFrame(from: start)
        if output.count >= flushBytes { try flushOutput() }
    }

    /// Ends the stream, writes what is left and fsyncs the file.
    func finish() throws {
        if let failure = failure.withLock({ $0 }) { throw failure }
        let start = output.count
        do {
            try stream.finish(into: &output, wroteInput: wroteInput)
        } catch {
            throw LodeError(.io, "compression failed for '\(path)'", cause: String(describing: error))
        }
        noteFrame(from: start)
        try flushOutput()
        try POSIX.fsync(fd, path: path)
    }

    /// Notes the zstd frame `output[start...]` just written (each compress call, and an empty stream's finish,
    /// writes exactly one).
    private func noteFrame(from start: Int) {
        guard writesFrames, output.count > start else { return }
        let digest = output.withUnsafeBytes { SHA256.hash(data: UnsafeRawBufferPointer(rebasing: $0[start...])) }
        frames.append(StagedFrame(offset: storedBytes + Int64(start), sha256: Array(digest)))
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
}

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
    /// The file's zstd frames in order (empty for other compressors).
    public var frames: [StagedFrame]

    public init(
        path: String, storedSize: Int64, md5Hex: String, rowCount: Int64, uncompressedBytes: Int64,
        frames: [StagedFrame] = []
    ) {
        self.path = path
        self.storedSize = storedSize
        self.md5Hex = md5Hex
        self.rowCount = rowCount
        self.uncompressedBytes = uncompressedBytes
        self.frames = frames
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

/// One zstd frame of a staged file: where it starts in the stored bytes and the SHA-256 of its stored bytes.
public struct StagedFrame: Sendable, Hashable {
    public var offset: Int64
    /// 32 bytes.
    public var sha256: [UInt8]

    public init(offset: Int64, sha256: [UInt8]) {
        self.offset = offset
        self.sha256 = sha256
    }
}
