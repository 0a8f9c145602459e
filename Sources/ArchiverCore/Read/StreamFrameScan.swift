import ArchiveFormat
import Coordination
import Foundation
import Lode

/// One stream's records read straight from the frames of a format 2 snapshot, without building its
/// ``SnapshotIndex`` first: the first (cold) read of a stream answers after one pass over the candidate frames.
///
/// Each frame of the objects the read selects is checked against the SHA-256 its manifest lists
/// (``ArchiveFrame``, documented in FORMAT.md as the equivalent of the chain check for a partial read; the frames
/// cover every byte of the object, so the object's MD5 adds nothing), decompressed on its own, and its lines
/// tested with a byte comparison of their stream member: only the lines that may be the stream's are decoded. The
/// frames are shared out among one worker per core. An altered frame is an error naming its object and frame.
struct StreamFrameScan: Sendable {
    let stream: String
    let hash: UInt64
    /// The stream's name as the record writer quotes it (``RawJSON/writeQuoted(_:to:)``: quotes added, nothing
    /// escaped), or nil when the name holds a byte the writer escapes: every line is then decoded.
    let needle: [UInt8]?

    init(stream: String) {
        self.stream = stream
        self.hash = StreamHash.fnv1a64(stream)
        let plain = stream.utf8.allSatisfy { $0 >= 0x20 && $0 != UInt8(ascii: "\"") && $0 != UInt8(ascii: "\\") }
        self.needle = plain && !stream.isEmpty ? [UInt8(ascii: "\"")] + Array(stream.utf8) + [UInt8(ascii: "\"")] : nil
    }

    /// Thrown when a frame cannot be decoded alone (no content size in its header, or more than one zstd frame in
    /// its listed range): the caller reads the snapshot the indexed way.
    struct NotScannable: Error {}

    /// The records of the stream in the objects `files` of `cut` that `accept` keeps, in position order; nil when
    /// the snapshot has no frame index (format 1) or a frame cannot be decoded alone.
    /// - Throws: Lode errors for missing objects or objects of the wrong size, ``ArchiveFormatError`` for an
    ///   altered frame or a malformed record (naming the object and frame).
    func read(
        _ cut: CutPoint, files: [Int], archive: Archive, accept: @escaping @Sendable (RecordedEvent) -> Bool
    ) async throws -> [RecordedEvent]? {
        let manifest = cut.manifest
        guard let index = cut.facts.fileFrames, index.count == manifest.files.count, manifest.compressor == "zstd"
        else { return nil }
        let objects = try await Self.load(cut, files: files, archive: archive)
        let jobs = try Self.jobs(cut, index: index, files: files, objects: objects)
        let found: [[RecordedEvent]]
        do {
            found = try await scan(jobs, objects: objects, cut: cut, accept: accept)
        } catch is NotScannable {
            return nil
        }
        var events = Array(found.joined())
        // One stream sits in one category partition, but a snapshot may split a partition into several objects.
        if files.count > 1 { events.sort { $0.position < $1.position } }
        return events
    }

    /// One frame to check, decompress and search.
    struct Job: Sendable {
        var slot: Int
        var frame: Int
        var range: Range<Int64>
        var sha256: ChainHash
    }

    /// The stored bytes of each selected object (its size checked; its frames are checked one by one).
    private static func load(
        _ cut: CutPoint, files: [Int], archive: Archive
    ) async throws -> [(key: String, bytes: [UInt8])] {
        let dataset = try archive.dataset(of: cut)
        let manifest = cut.manifest
        return try await withThrowingTaskGroup(of: (Int, (key: String, bytes: [UInt8])).self) { group in
            for (slot, file) in files.enumerated() {
                group.addTask {
                    let ref = manifest.files[file]
                    return (slot, try await dataset.readStoredFile(ref, manifest: manifest, verifyChecksum: false))
                }
            }
            var loaded = [(key: String, bytes: [UInt8])](repeating: ("", []), count: files.count)
            for try await (slot, object) in group { loaded[slot] = object }
            return loaded
        }
    }

    /// The stream's records of each job, in job order; the jobs are shared out among one worker per core.
    private func scan(
        _ jobs: [Job], objects: [(key: String, bytes: [UInt8])], cut: CutPoint,
        accept: @escaping @Sendable (RecordedEvent) -> Bool
    ) async throws -> [[RecordedEvent]] {
        let workers = max(1, min(ProcessInfo.processInfo.activeProcessorCount, jobs.count))
        return try await withThrowingTaskGroup(of: [(Int, [RecordedEvent])].self) { group in
            for worker in 0..<workers {
                group.addTask {
                    var results: [(Int, [RecordedEvent])] = []
                    for j in stride(from: worker, to: jobs.count, by: workers) {
                        try Task.checkCancellation()
                        let object = objects[jobs[j].slot]
                        results.append((j, try self.scan(jobs[j], object: object, cut: cut, accept: accept)))
                    }
                    return results
                }
            }
            var found = [[RecordedEvent]](repeating: [], count: jobs.count)
            for try await results in group {
                for (j, events) in results { found[j] = events }
            }
            return found
        }
    }

    /// One frame: its SHA-256 checked, then decompressed and searched.
    private func scan(
        _ job: Job, object: (key: String, bytes: [UInt8]), cut: CutPoint,
        accept: (RecordedEvent) -> Bool
    ) throws -> [RecordedEvent] {
        try object.bytes.withUnsafeBytes { whole in
            let stored = try Self.checked(job, in: whole, key: object.key, cut: cut)
            guard let frames = DataObjectDecoder.frames(in: stored), frames.count == 1,
                let size = frames[0].contentSize, frames[0].compressedSize == stored.count
            else { throw NotScannable() }
            let content = try Self.decompress(stored, size: size, key: object.key)
            defer { ChunkRecycler.recycle(content) }
            return try search(UnsafeRawBufferPointer(rebasing: content[0..<size]), accept: accept) { error in
                ArchiveFormatError(
                    .badRecord, "object '\(object.key)' frame \(job.frame): \(error.message)")
            }
        }
    }

    /// The stored bytes of the job's frame, once checked against the SHA-256 its manifest lists.
    static func checked(
        _ job: Job, in object: UnsafeRawBufferPointer, key: String, cut: CutPoint
    ) throws -> UnsafeRawBufferPointer {
        let stored = UnsafeRawBufferPointer(rebasing: object[Int(job.range.lowerBound)..<Int(job.range.upperBound)])
        let digest = ArchiveFrame.digest(of: stored)
        guard digest == job.sha256 else {
            throw Self.altered(
                key, cut,
                "its frame \(job.frame) (bytes \(job.range.lowerBound)..<\(job.range.upperBound)) has SHA-256 "
                    + "\(digest.hex.prefix(16))…, but the manifest records \(job.sha256.hex.prefix(16))…")
        }
        return stored
    }

    /// One job per frame of each object, with its stored byte range.
    static func jobs(
        _ cut: CutPoint, index: [[ArchiveFrame]], files: [Int], objects: [(key: String, bytes: [UInt8])]
    ) throws -> [Job] {
        var jobs: [Job] = []
        for (slot, file) in files.enumerated() {
            let size = Int64(objects[slot].bytes.count)
            for frame in index[file].indices {
                let range = ArchiveFrame.byteRange(of: frame, in: index[file], objectSize: size)
                guard range.lowerBound < range.upperBound, range.upperBound <= size else {
                    throw Self.altered(objects[slot].key, cut, "its frame \(frame) lies outside its \(size) bytes")
                }
                jobs.append(Job(slot: slot, frame: frame, range: range, sha256: index[file][frame].sha256))
            }
        }
        return jobs
    }

    /// The frame's content in a buffer of at least `size` bytes (to be handed back to the recycler).
    private static func decompress(
        _ stored: UnsafeRawBufferPointer, size: Int, key: String
    ) throws -> UnsafeMutableRawBufferPointer {
        let buffer =
            size <= ObjectFeed.chunkBytes
            ? ChunkRecycler.buffer() : UnsafeMutableRawBufferPointer.allocate(byteCount: size, alignment: 16)
        do {
            let decompressor = try ChunkRecycler.decompressor()
            defer { ChunkRecycler.recycle(decompressor) }
            let produced = try decompressor.decompressFrame(
                stored, into: UnsafeMutableRawBufferPointer(rebasing: buffer[0..<size]))
            guard produced == size else { throw NotScannable() }
        } catch {
            ChunkRecycler.recycle(buffer)
            throw LodeError(
                .corruptData,
                "object '\(key)' does not decompress: it was damaged or truncated; restore it from a replica",
                key: key, cause: String(describing: error))
        }
        return buffer
    }

    /// The accepted records of the stream among the lines of `content`: only lines that may hold the stream
    /// (``mayHold(_:)``) are decoded.
    private func search(
        _ content: UnsafeRawBufferPointer, accept: (RecordedEvent) -> Bool,
        malformed: (ArchiveFormatError) -> ArchiveFormatError
    ) throws -> [RecordedEvent] {
        var found: [RecordedEvent] = []
        var cursor = LineCursor(buffer: content)
        while let line = cursor.next() {
            guard mayHold(line) else { continue }
            let fields: RecordFields
            do {
                fields = try RecordDecoder.decode(line)
            } catch {
                throw malformed(error)
            }
            guard fields.streamHash == hash else { continue }
            let event = ColdEventSource.event(line, fields)
            if event.stream == stream, accept(event) { found.append(event) }
        }
        return found
    }

    /// The start of a line as the record writer lays it out: the position member, then the stream member.
    private static let positionPrefix = Array(#"{"position":"#.utf8)
    private static let streamPrefix = Array(#","stream":"#.utf8)

    /// False only when the line is laid out as the writer writes records and its stream member is another
    /// stream's: a name without escapes that differs from the needle. Any other line is decoded.
    @inline(__always)
    func mayHold(_ line: UnsafeRawBufferPointer) -> Bool {
        guard let needle, line.count > Self.positionPrefix.count + Self.streamPrefix.count + 1,
            Self.starts(line, at: 0, with: Self.positionPrefix)
        else { return true }
        var at = Self.positionPrefix.count
        while at < line.count, line[at] >= UInt8(ascii: "0") && line[at] <= UInt8(ascii: "9") { at += 1 }
        guard Self.starts(line, at: at, with: Self.streamPrefix) else { return true }
        at += Self.streamPrefix.count
        if Self.starts(line, at: at, with: needle) { return true }
        // Not the needle: another stream, unless the member holds an escape (the same name written otherwise).
        at += 1
        while at < line.count {
            let byte = line[at]
            if byte == UInt8(ascii: "\\") { return true }
            if byte == UInt8(ascii: "\"") { return false }
            at += 1
        }
        return true
    }

    @inline(__always)
    private static func starts(_ line: UnsafeRawBufferPointer, at offset: Int, with prefix: [UInt8]) -> Bool {
        guard offset + prefix.count <= line.count else { return false }
        return prefix.withUnsafeBytes { memcmp(line.baseAddress! + offset, $0.baseAddress!, prefix.count) == 0 }
    }

    static func altered(_ key: String, _ cut: CutPoint, _ what: String) -> ArchiveFormatError {
        ArchiveFormatError(
            .chainMismatch,
            "object '\(key)' of snapshot \(cut.snapshotID): \(what): the object was altered or its manifest's frame "
                + "index was; restore the object from a replica and run `archiver verify`")
    }
}
