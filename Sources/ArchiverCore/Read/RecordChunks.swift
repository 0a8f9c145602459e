import ArchiveFormat
import Foundation
import Lode
import Synchronization

/// Chunk buffers and line arrays kept for reuse. A read cycles through a few of each; allocating them fresh
/// cost a page fault per 4 KiB touched (the zeroing of new pages was a tenth of a replay's CPU time).
enum ChunkRecycler {
    /// What the recycler keeps at most: enough for the chunks in flight of a few objects.
    static let limit = 16
    private static let buffers = Mutex<[Int]>([])
    private static let lineArrays = Mutex<[[ChunkLine]]>([])

    /// A buffer of ``ObjectFeed/chunkBytes`` bytes (contents undefined).
    static func buffer() -> UnsafeMutableRawBufferPointer {
        if let address = buffers.withLock({ $0.popLast() }) {
            return UnsafeMutableRawBufferPointer(
                start: UnsafeMutableRawPointer(bitPattern: address), count: ObjectFeed.chunkBytes)
        }
        return .allocate(byteCount: ObjectFeed.chunkBytes, alignment: 16)
    }

    /// Takes back a buffer (of any size: only standard ones are kept).
    static func recycle(_ buffer: UnsafeMutableRawBufferPointer) {
        if buffer.count == ObjectFeed.chunkBytes, let base = buffer.baseAddress {
            let address = Int(bitPattern: base)
            let kept = buffers.withLock { list in
                guard list.count < limit else { return false }
                list.append(address)
                return true
            }
            if kept { return }
        }
        buffer.deallocate()
    }

    /// The memory of a finished object's stored bytes, to read the next object into (empty when none is kept).
    static func storedBuffer() -> [UInt8] {
        storedBuffers.withLock { $0.popLast() } ?? []
    }

    /// Takes back an object's stored bytes once its reader is done (the kept ones hold at most
    /// ``storedLimit`` bytes together: about what a read prefetches).
    static func recycle(stored: consuming [UInt8]) {
        let stored = stored
        guard stored.capacity > 0 else { return }
        storedBuffers.withLock { list in
            if list.reduce(stored.capacity, { $0 + $1.capacity }) <= storedLimit { list.append(stored) }
        }
    }
    static let storedLimit = 64 << 20
    private static let storedBuffers = Mutex<[[UInt8]]>([])

    /// A zstd context for one-shot frame decompression (``ObjectFeed/decode(_:)``).
    static func decompressor() throws -> DataObjectDecoder {
        if let kept = decompressors.withLock({ $0.popLast() }) { return kept.decompressor }
        return try DataObjectDecoder()
    }

    static func recycle(_ decompressor: DataObjectDecoder) {
        decompressors.withLock { list in
            if list.count < limit { list.append(PooledDecompressor(decompressor: decompressor)) }
        }
    }

    /// A context handed from one task to the next through the pool (used by one task at a time).
    private struct PooledDecompressor: @unchecked Sendable {
        let decompressor: DataObjectDecoder
    }
    private static let decompressors = Mutex<[PooledDecompressor]>([])

    /// An empty line array, with capacity when one was recycled.
    static func lines() -> [ChunkLine] {
        lineArrays.withLock { $0.popLast() } ?? []
    }

    /// Takes back a line array, unless it grew past what a standard chunk needs (a whole gzip object is one
    /// chunk: keeping its array would hold its size for the rest of the read).
    static func recycle(_ lines: consuming [ChunkLine]) {
        var lines = lines
        guard lines.capacity > 0, lines.capacity <= ObjectFeed.chunkBytes / 64 else { return }
        lines.removeAll(keepingCapacity: true)
        lineArrays.withLock { list in
            if list.count < limit { list.append(lines) }
        }
    }
}

/// Decompressed bytes of a data object that end at a line boundary; immutable once built.
final class ChunkStorage: @unchecked Sendable {
    private var buffer: UnsafeMutableRawBufferPointer
    /// Bytes of whole lines at the start of the buffer.
    let count: Int

    init(buffer: UnsafeMutableRawBufferPointer, count: Int) {
        self.buffer = buffer
        self.count = count
    }

    /// Takes over the buffer of `other` (which must not be used again), keeping its first `count` bytes.
    init(sharing other: ChunkStorage, count: Int) {
        self.buffer = other.buffer
        self.count = count
        other.buffer = UnsafeMutableRawBufferPointer(start: nil, count: 0)
    }

    deinit { if buffer.baseAddress != nil { ChunkRecycler.recycle(buffer) } }

    var bytes: UnsafeRawBufferPointer { UnsafeRawBufferPointer(rebasing: buffer[0..<count]) }
}

/// One line of a ``RecordChunk``: where it is, its line number counted from the chunk's first line (1-based),
/// and its decoded members (ranges relative to the line).
struct ChunkLine: Sendable {
    let start: Int
    private let length: UInt32
    private let lineNumber: UInt32
    let fields: RecordFields

    /// - Precondition: `count` and `number` are below 2^32 (``RecordDecoder`` refuses lines of 2 GiB or more).
    init(start: Int, count: Int, number: Int, fields: RecordFields) {
        self.start = start
        self.length = UInt32(truncatingIfNeeded: count)
        self.lineNumber = UInt32(truncatingIfNeeded: number)
        self.fields = fields
    }

    var count: Int { Int(length) }
    var number: Int { Int(lineNumber) }
}

/// A ``ChunkStorage`` split into lines, each decoded.
///
/// Decoding stops at the first malformed line: the lines before it are kept, and ``failure`` says what is
/// wrong, so that the reader delivers the good records in order and then stops with the line's number in the
/// object (which only the reader knows: it counts the lines of the chunks before).
final class RecordChunk: @unchecked Sendable {
    let storage: ChunkStorage
    let lines: [ChunkLine]
    /// Lines the chunk spans, blank ones included.
    let lineCount: Int
    /// The first malformed line (numbered as ``ChunkLine/number``) and what is wrong with it.
    let failure: (line: Int, message: String)?
    /// Where the bytes after the chunk's last newline start (`storage.count` when there are none): the start
    /// of a line that the next chunk finishes. Always `storage.count` for a chunk decoded with `wholeLines`.
    let tailStart: Int
    /// True when the chunk was decoded on the assumption that it starts at a line start.
    let wholeLines: Bool

    /// Splits `storage` into lines as ``LineCursor`` does and decodes each.
    /// - Parameter wholeLines: the storage ends at a line end (or the object's end): decode every byte.
    ///   Otherwise the bytes after the last newline are left as the chunk's tail, for the next chunk.
    init(decoding storage: ChunkStorage, wholeLines: Bool = true) {
        var buffer = storage.bytes
        self.wholeLines = wholeLines
        if !wholeLines { buffer = UnsafeRawBufferPointer(rebasing: buffer[0..<Self.wholeLinesCount(buffer)]) }
        tailStart = buffer.count
        var lines = ChunkRecycler.lines()
        lines.reserveCapacity(buffer.count / 256)
        var cursor = LineCursor(buffer: buffer)
        var failure: (line: Int, message: String)? = nil
        while let line = cursor.next() {
            do {
                let fields = try RecordDecoder.decode(line)
                lines.append(
                    ChunkLine(
                        start: line.baseAddress! - buffer.baseAddress!, count: line.count, number: cursor.lineNumber,
                        fields: fields))
            } catch {
                failure = (cursor.lineNumber, error.message)
                break
            }
        }
        self.storage = storage
        self.lines = lines
        self.lineCount = cursor.lineNumber
        self.failure = failure
    }

    deinit { ChunkRecycler.recycle(lines) }

    /// The length of `bytes` up to and including its last newline (0 when it has none).
    static func wholeLinesCount(_ bytes: UnsafeRawBufferPointer) -> Int {
        var end = bytes.count
        while end > 0 && bytes[end - 1] != 0x0A { end -= 1 }
        return end
    }

    /// The bytes after the last newline (empty for a chunk of whole lines).
    var tail: UnsafeRawBufferPointer { UnsafeRawBufferPointer(rebasing: storage.bytes[tailStart...]) }

    /// This chunk decoded again behind `head`, the unfinished line the previous chunk ended with.
    func prepending(_ head: [UInt8]) -> RecordChunk {
        let whole = storage.bytes
        let count = head.count + whole.count
        let buffer =
            count <= ObjectFeed.chunkBytes
            ? ChunkRecycler.buffer() : UnsafeMutableRawBufferPointer.allocate(byteCount: count, alignment: 16)
        head.withUnsafeBytes { UnsafeMutableRawBufferPointer(rebasing: buffer[0..<head.count]).copyMemory(from: $0) }
        UnsafeMutableRawBufferPointer(rebasing: buffer[head.count..<count]).copyMemory(from: whole)
        return RecordChunk(decoding: ChunkStorage(buffer: buffer, count: count), wholeLines: wholeLines)
    }

    /// The bytes of line `index` (without its newline); valid while the chunk is alive.
    @inline(__always)
    func bytes(of index: Int) -> UnsafeRawBufferPointer {
        let line = lines[index]
        return UnsafeRawBufferPointer(start: storage.bytes.baseAddress! + line.start, count: line.count)
    }
}

/// Keeps up to `depth` chunks of one object in flight ahead of its reader, each decoded by a task of its own,
/// so that several chunks of one object are decoded on several cores at once.
///
/// An object of independent zstd frames (what the archive's writer makes, ``ObjectFeed/isFramed``) is
/// decompressed a span of frames per task, in parallel. Otherwise decompression is sequential (one zstd
/// stream): each chunk's decompression waits for the previous one and only the decoding runs in parallel.
///
/// Only the reader of the object calls ``next(depth:)`` and ``cancel()``.
final class ChunkPipeline: @unchecked Sendable {
    let feed: ObjectFeed
    private var lastRaw: Task<ChunkStorage?, any Error>?
    private var ahead: [Task<RecordChunk?, any Error>] = []
    private var ended = false
    /// The unfinished line the last chunk handed out ended with (spans of frames need not end at a line end
    /// when another writer made the object); the next chunk is decoded again behind it.
    private var head: [UInt8] = []
    /// True once a chunk was decoded again behind the previous chunk's unfinished line: its line offsets are
    /// then not offsets into its own frames (a ``SnapshotIndex`` cannot be built from it).
    private(set) var realigned = false

    init(feed: ObjectFeed) {
        self.feed = feed
    }

    var path: String { feed.path }

    /// Starts chunks until `depth` are in flight.
    func schedule(depth: Int) {
        guard !ended else { return }
        let feed = self.feed
        while ahead.count < depth {
            if feed.isFramed {
                guard let span = feed.nextSpan() else { return }
                ahead.append(Task { RecordChunk(decoding: try feed.decode(span), wholeLines: span.isLast) })
                continue
            }
            let previous = lastRaw
            let raw = Task { () throws -> ChunkStorage? in
                _ = try await previous?.value
                return try feed.nextChunk()
            }
            lastRaw = raw
            ahead.append(
                Task {
                    guard let storage = try await raw.value else { return nil }
                    return RecordChunk(decoding: storage)
                })
        }
    }

    /// The next chunk, or nil after the last; keeps `depth` more in flight.
    func next(depth: Int) async throws -> RecordChunk? {
        if ended { return nil }
        if ahead.isEmpty { schedule(depth: 1) }
        guard !ahead.isEmpty, var chunk = try await ahead.removeFirst().value else {
            ended = true
            cancel()
            return nil
        }
        if !head.isEmpty {
            chunk = chunk.prepending(head)
            realigned = true
        }
        head = chunk.tailStart < chunk.storage.count ? Array(chunk.tail) : []
        schedule(depth: depth)
        return chunk
    }

    func cancel() {
        ahead.forEach { $0.cancel() }
        ahead = []
        lastRaw = nil
    }
}

/// One data object of a snapshot, read and checked against its manifest (size and MD5) before any of its
/// records is handed out, then decompressed a chunk at a time.
///
/// Only one task at a time may call ``nextChunk()`` or ``nextSpan()``: ``ChunkPipeline`` chains the calls.
/// ``decode(_:)`` reads only what never changes and runs in any number of tasks at once.
final class ObjectFeed: @unchecked Sendable {
    let path: String
    /// The object's verified stored bytes.
    let stored: [UInt8]
    private let decompressor: DataObjectDecoder?
    /// The object's zstd frames when every one records its content size and holds at most ``maxFrameBytes``:
    /// spans of them are then decompressed independently (``nextSpan()``, ``decode(_:)``). nil for a zstd
    /// stream of other frames (one frame streamed without a size, as this project wrote before frames), which
    /// is decompressed as one stream by ``nextChunk()``.
    let frames: [LodeFrame]?
    private var nextFrame = 0
    /// The frame where decoding stops (exclusive): the object's frame count unless a reader needs fewer.
    private var endFrame = Int.max
    /// Content bytes a span of frames holds at most (one frame per span when smaller than every frame: a
    /// ``SnapshotIndex`` is built from chunks that are single frames).
    private let spanBytes: Int
    /// False when the stored bytes belong to a cache entry (a ``SnapshotIndex``): not handed to the recycler.
    private let recyclesStored: Bool
    /// Frames larger than this are streamed instead (their one-piece buffer would grow the read's memory).
    static let maxFrameBytes = 8 << 20
    private var inputOffset = 0
    /// The start of a line the previous chunk could not finish.
    private var carry: [UInt8] = []
    private var finished = false
    /// Plain bytes produced per chunk (a chunk grows when one line is longer).
    static let chunkBytes = 1 << 21
    /// - Parameters:
    ///   - stored: the object's verified stored bytes.
    ///   - compressor: the manifest's compressor name (`zstd`, `gzip`, `noop`).
    ///   - spanBytes: content bytes a span of frames holds at most (at least one frame).
    init(path: String, stored: [UInt8], compressor: String, spanBytes: Int = chunkBytes) throws {
        self.path = path
        self.spanBytes = spanBytes
        self.recyclesStored = true
        switch compressor {
        case "zstd":
            self.stored = stored
            let frames =
                stored.isEmpty ? nil : stored.withUnsafeBytes { DataObjectDecoder.frames(in: $0) }
            if let frames, !frames.isEmpty,
                frames.allSatisfy({ $0.contentSize.map { $0 <= Self.maxFrameBytes } ?? false })
            {
                self.frames = frames
                self.decompressor = nil
            } else {
                self.frames = nil
                self.decompressor = try DataObjectDecoder()
            }
            if stored.isEmpty { finished = true }
        case "gzip":
            self.stored = try Self.decompressed(path: path) { try LodeCompressor.gzip().decompress(stored) }
            self.decompressor = nil
            self.frames = nil
        default:
            self.stored = stored
            self.decompressor = nil
            self.frames = nil
        }
    }

    /// A framed object already read and checked (a ``SnapshotIndex``'s), decoded from frame `frames.lowerBound`
    /// up to (not including) `frames.upperBound`.
    init(path: String, stored: [UInt8], frames: [LodeFrame], decoding range: Range<Int>) {
        self.path = path
        self.stored = stored
        self.frames = frames
        self.decompressor = nil
        self.nextFrame = range.lowerBound
        self.endFrame = range.upperBound
        self.spanBytes = Self.chunkBytes
        self.recyclesStored = false
    }

    /// Reads and checks `ref` of `manifest` and prepares to decode it.
    static func open(
        _ ref: FileRef, manifest: Manifest, dataset: LodeDataset, spanBytes: Int = chunkBytes
    ) async throws -> ObjectFeed {
        let (key, stored) = try await dataset.readStoredFile(
            ref, manifest: manifest, reusing: ChunkRecycler.storedBuffer())
        return try ObjectFeed(path: key, stored: stored, compressor: manifest.compressor, spanBytes: spanBytes)
    }

    deinit { if recyclesStored { ChunkRecycler.recycle(stored: stored) } }

    /// True when the object is decoded a span of frames at a time (``nextSpan()``), not by ``nextChunk()``.
    var isFramed: Bool { frames != nil }

    /// Consecutive frames of a framed object, decompressed into one chunk.
    struct Span: Sendable {
        var frames: Range<Int>
        /// Their content bytes together.
        var bytes: Int
        /// True for the object's last span (its last line may lack a newline).
        var isLast: Bool
    }

    /// The next frames that fit a chunk (``chunkBytes``; at least one frame), or nil after the last.
    func nextSpan() -> Span? {
        guard let frames, nextFrame < min(frames.count, endFrame) else { return nil }
        let start = nextFrame
        var bytes = 0
        while nextFrame < min(frames.count, endFrame) {
            let size = frames[nextFrame].contentSize ?? 0
            if nextFrame > start && bytes + size > spanBytes { break }
            bytes += size
            nextFrame += 1
        }
        return Span(frames: start..<nextFrame, bytes: bytes, isLast: nextFrame == frames.count)
    }

    /// Decompresses `span` in one pass per frame, straight into the chunk's buffer.
    /// - Parameter head: bytes to put before the span's (the unfinished line of the span before).
    /// - Throws: `LodeError` `.corruptData` when a frame does not decompress to its recorded size.
    func decode(_ span: Span, after head: [UInt8] = []) throws -> ChunkStorage {
        guard let frames else { preconditionFailure("decode(_:) is for framed objects") }
        let capacity = head.count + span.bytes
        let buffer =
            capacity <= Self.chunkBytes
            ? ChunkRecycler.buffer() : UnsafeMutableRawBufferPointer.allocate(byteCount: capacity, alignment: 16)
        var keep = false
        defer { if !keep { ChunkRecycler.recycle(buffer) } }
        head.withUnsafeBytes { UnsafeMutableRawBufferPointer(rebasing: buffer[0..<head.count]).copyMemory(from: $0) }
        let decompressor = try Self.decompressed(path: path) { try ChunkRecycler.decompressor() }
        defer { ChunkRecycler.recycle(decompressor) }
        var filled = head.count
        try stored.withUnsafeBytes { input in
            for frame in frames[span.frames] {
                let size = frame.contentSize ?? 0
                let produced = try Self.decompressed(path: path) {
                    try decompressor.decompressFrame(
                        UnsafeRawBufferPointer(rebasing: input[frame.offset..<(frame.offset + frame.compressedSize)]),
                        into: UnsafeMutableRawBufferPointer(rebasing: buffer[filled..<(filled + size)]))
                }
                guard produced == size else {
                    throw Self.corrupt(
                        path: path, cause: "a frame holds \(produced) bytes, but its header says \(size)")
                }
                filled += produced
            }
        }
        keep = true
        return ChunkStorage(buffer: buffer, count: filled)
    }

    /// The next chunk of whole lines, or nil after the last.
    /// - Throws: `LodeError` `.corruptData` when the object does not decompress.
    func nextChunk() throws -> ChunkStorage? {
        if finished { return nil }
        if isFramed {
            // One span at a time, in sequence: its whole lines, the unfinished one carried to the next span.
            guard let span = nextSpan() else {
                finished = true
                return nil
            }
            let storage = try decode(span, after: carry)
            carry = []
            if span.isLast { return storage }
            let lines = RecordChunk.wholeLinesCount(storage.bytes)
            carry = Array(storage.bytes[lines...])
            return ChunkStorage(sharing: storage, count: lines)
        }
        // The carried start of a line first, then new bytes (a chunk holds `chunkBytes`, unless one line is
        // longer).
        var storage =
            carry.count < Self.chunkBytes / 2
            ? ChunkRecycler.buffer()
            : UnsafeMutableRawBufferPointer.allocate(byteCount: carry.count + Self.chunkBytes, alignment: 16)
        var capacity = storage.count
        var keep = false
        defer { if !keep { ChunkRecycler.recycle(storage) } }
        var filled = carry.count
        carry.withUnsafeBytes { storage.copyMemory(from: $0) }
        carry = []
        var atEnd = false
        if let decompressor {
            while true {
                let room = capacity - filled
                let (consumed, produced) = try Self.decompressed(path: path) {
                    try stored.withUnsafeBytes { input in
                        try decompressor.decompress(
                            UnsafeRawBufferPointer(rebasing: input[inputOffset...]),
                            into: UnsafeMutableRawBufferPointer(rebasing: storage[filled...]))
                    }
                }
                inputOffset += consumed
                filled += produced
                if filled == capacity {
                    // Full: stop at a line boundary, or grow for a line longer than the chunk.
                    if RecordChunk.wholeLinesCount(UnsafeRawBufferPointer(rebasing: storage[0..<filled])) > 0 { break }
                    let grown = UnsafeMutableRawBufferPointer.allocate(byteCount: capacity * 2, alignment: 16)
                    grown.copyMemory(from: UnsafeRawBufferPointer(rebasing: storage[0..<filled]))
                    ChunkRecycler.recycle(storage)
                    storage = grown
                    capacity *= 2
                    continue
                }
                if inputOffset == stored.count && produced < room {
                    try Self.decompressed(path: path) { try decompressor.finish() }
                    atEnd = true
                    break
                }
                if consumed == 0 && produced == 0 {
                    throw Self.corrupt(path: path, cause: "the decompressor made no progress")
                }
            }
        } else {
            // gzip (decompressed when opened) and uncompressed objects: one chunk holding the whole object.
            ChunkRecycler.recycle(storage)
            capacity = stored.count
            storage = UnsafeMutableRawBufferPointer.allocate(byteCount: max(1, capacity), alignment: 16)
            stored.withUnsafeBytes { storage.copyMemory(from: $0) }
            filled = stored.count
            atEnd = true
        }
        var end = filled
        if atEnd {
            finished = true
        } else if case let whole = RecordChunk.wholeLinesCount(UnsafeRawBufferPointer(rebasing: storage[0..<filled])),
            whole > 0
        {
            end = whole
            carry = Array(UnsafeRawBufferPointer(rebasing: storage[end..<filled]))
        }
        keep = true
        return ChunkStorage(buffer: storage, count: end)
    }

    private static func decompressed<T>(path: String, _ body: () throws -> T) throws -> T {
        do {
            return try body()
        } catch {
            throw corrupt(path: path, cause: String(describing: error))
        }
    }

    private static func corrupt(path: String, cause: String) -> LodeError {
        LodeError(
            .corruptData,
            "object '\(path)' does not decompress: it was damaged or truncated; restore it from a replica",
            key: path, cause: cause)
    }
}
