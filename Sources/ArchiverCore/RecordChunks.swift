import ArchiveFormat
import Foundation
import Gzip
import Lode
import Synchronization
import Zstd

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
    private let buffer: UnsafeMutableRawBufferPointer
    /// Bytes of whole lines at the start of the buffer.
    let count: Int

    init(buffer: UnsafeMutableRawBufferPointer, count: Int) {
        self.buffer = buffer
        self.count = count
    }

    deinit { ChunkRecycler.recycle(buffer) }

    var bytes: UnsafeRawBufferPointer { UnsafeRawBufferPointer(rebasing: buffer[0..<count]) }
}

/// One line of a ``RecordChunk``: where it is, its line number counted from the chunk's first line (1-based),
/// and its decoded members (ranges relative to the line).
struct ChunkLine: Sendable {
    var start: Int
    var count: Int
    var number: Int
    var fields: RecordFields
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

    /// Splits `storage` into lines as ``LineCursor`` does and decodes each.
    init(decoding storage: ChunkStorage) {
        let buffer = storage.bytes
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

    /// The bytes of line `index` (without its newline); valid while the chunk is alive.
    @inline(__always)
    func bytes(of index: Int) -> UnsafeRawBufferPointer {
        let line = lines[index]
        return UnsafeRawBufferPointer(start: storage.bytes.baseAddress! + line.start, count: line.count)
    }
}

/// Keeps up to `depth` chunks of one object in flight ahead of its reader: each chunk's decompression waits
/// for the previous one (a zstd stream is sequential), and its decoding runs in a task of its own, so that
/// several chunks of one object are decoded on several cores at once.
///
/// Only the reader of the object calls ``next(depth:)`` and ``cancel()``.
final class ChunkPipeline: @unchecked Sendable {
    let feed: ObjectFeed
    private var lastRaw: Task<ChunkStorage?, any Error>?
    private var ahead: [Task<RecordChunk?, any Error>] = []
    private var ended = false

    init(feed: ObjectFeed) {
        self.feed = feed
    }

    var path: String { feed.path }

    /// Starts chunks until `depth` are in flight.
    func schedule(depth: Int) {
        guard !ended else { return }
        let feed = self.feed
        while ahead.count < depth {
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
        let chunk = try await ahead.removeFirst().value
        if chunk == nil {
            ended = true
            cancel()
        } else {
            schedule(depth: depth)
        }
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
/// Only one task at a time may call ``nextChunk()``: ``ChunkPipeline`` chains the calls.
final class ObjectFeed: @unchecked Sendable {
    let path: String
    private let stored: [UInt8]
    private let decompressor: ZstdDecompressor?
    private var inputOffset = 0
    /// The start of a line the previous chunk could not finish.
    private var carry: [UInt8] = []
    private var finished = false
    /// Plain bytes produced per chunk (a chunk grows when one line is longer).
    static let chunkBytes = 1 << 21
    /// - Parameters:
    ///   - stored: the object's verified stored bytes.
    ///   - compressor: the manifest's compressor name (`zstd`, `gzip`, `noop`).
    init(path: String, stored: [UInt8], compressor: String) throws {
        self.path = path
        switch compressor {
        case "zstd":
            self.stored = stored
            self.decompressor = try ZstdDecompressor()
            if stored.isEmpty { finished = true }
        case "gzip":
            self.stored = try Self.decompressed(path: path) { try Gzip.decompress(stored) }
            self.decompressor = nil
        default:
            self.stored = stored
            self.decompressor = nil
        }
    }

    /// Reads and checks `ref` of `manifest` and prepares to decode it.
    static func open(_ ref: FileRef, manifest: Manifest, dataset: LodeDataset) async throws -> ObjectFeed {
        let (key, stored) = try await dataset.readStoredFile(ref, manifest: manifest)
        return try ObjectFeed(path: key, stored: stored, compressor: manifest.compressor)
    }

    /// The next chunk of whole lines, or nil after the last.
    /// - Throws: `LodeError` `.corruptData` when the object does not decompress.
    func nextChunk() throws -> ChunkStorage? {
        if finished { return nil }
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
                    if Self.lastNewline(in: storage, before: filled) != nil { break }
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
        } else if let newline = Self.lastNewline(in: storage, before: filled) {
            end = newline + 1
            carry = Array(UnsafeRawBufferPointer(rebasing: storage[end..<filled]))
        }
        keep = true
        return ChunkStorage(buffer: storage, count: end)
    }

    /// The offset of the last `\n` in `buffer[0..<count]` (a line's length from the end, at most).
    private static func lastNewline(in buffer: UnsafeMutableRawBufferPointer, before count: Int) -> Int? {
        var i = count - 1
        while i >= 0 {
            if buffer[i] == 0x0A { return i }
            i -= 1
        }
        return nil
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
