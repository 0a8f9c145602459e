import ArchiveFormat
import Foundation
import Gzip
import Lode
import Zstd

/// One line of a ``RecordChunk``: where it is, its line number in the object, and its decoded members
/// (ranges relative to the line).
struct ChunkLine: Sendable {
    var start: Int
    var count: Int
    var number: Int
    var fields: RecordFields
}

/// A piece of a decompressed data object that holds whole lines only, each already decoded.
///
/// Chunks are produced on other cores while the reader delivers the previous ones, so decompression and
/// record decoding run in parallel with the projection. The storage is immutable once built.
final class RecordChunk: @unchecked Sendable {
    private let storage: UnsafeMutableRawBufferPointer
    let lines: [ChunkLine]

    init(storage: UnsafeMutableRawBufferPointer, lines: [ChunkLine]) {
        self.storage = storage
        self.lines = lines
    }

    deinit { storage.deallocate() }

    /// The bytes of line `index` (without its newline); valid while the chunk is alive.
    @inline(__always)
    func bytes(of index: Int) -> UnsafeRawBufferPointer {
        let line = lines[index]
        return UnsafeRawBufferPointer(start: storage.baseAddress! + line.start, count: line.count)
    }
}

/// One data object of a snapshot, read and checked against its manifest (size and MD5) before any of its
/// records is handed out, then decompressed and decoded a chunk at a time.
///
/// Only one task at a time may call ``next()``: the reader chains the calls (each chunk's task starts after
/// the previous one has finished).
final class ObjectFeed: @unchecked Sendable {
    let path: String
    private let stored: [UInt8]
    private let decompressor: ZstdDecompressor?
    private var inputOffset = 0
    /// The start of a line the previous chunk could not finish.
    private var carry: [UInt8] = []
    private var lineNumber = 0
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

    /// The next chunk of decoded lines, or nil after the last.
    /// - Throws: `LodeError` `.corruptData` when the object does not decompress, ``ArchiveFormatError``
    ///   `.badRecord` for a malformed line (naming the object and line).
    func next() throws -> RecordChunk? {
        if finished { return nil }
        var capacity = carry.count + Self.chunkBytes
        var storage = UnsafeMutableRawBufferPointer.allocate(byteCount: capacity, alignment: 8)
        var keep = false
        defer { if !keep { storage.deallocate() } }
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
                    let grown = UnsafeMutableRawBufferPointer.allocate(byteCount: capacity * 2, alignment: 8)
                    grown.copyMemory(from: UnsafeRawBufferPointer(rebasing: storage[0..<filled]))
                    storage.deallocate()
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
            storage.deallocate()
            capacity = stored.count
            storage = UnsafeMutableRawBufferPointer.allocate(byteCount: max(1, capacity), alignment: 8)
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
        let lines = try decodeLines(UnsafeRawBufferPointer(rebasing: storage[0..<end]))
        keep = true
        return RecordChunk(storage: storage, lines: lines)
    }

    /// Splits `buffer` into lines as ``LineCursor`` does and decodes each.
    private func decodeLines(_ buffer: UnsafeRawBufferPointer) throws -> [ChunkLine] {
        var lines: [ChunkLine] = []
        lines.reserveCapacity(buffer.count / 256)
        var cursor = LineCursor(buffer: buffer)
        let first = lineNumber
        while let line = cursor.next() {
            let number = first + cursor.lineNumber
            let fields: RecordFields
            do {
                fields = try RecordDecoder.decode(line)
            } catch {
                throw ArchiveFormatError(.badRecord, "\(path) line \(number): \(error.message)")
            }
            lines.append(
                ChunkLine(
                    start: line.baseAddress! - buffer.baseAddress!, count: line.count, number: number, fields: fields))
        }
        lineNumber = first + cursor.lineNumber
        return lines
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
