import ArchiveFormat
import Lode

/// An archived snapshot (or the objects of it that a read selects) held open for cold reads: each data object's
/// verified stored bytes, where each of its
/// zstd frames starts in position order, and where each stream's records sit. Built once, on the first read
/// that needs the snapshot (``build(_:archive:)``), and kept in the ``SnapshotEventCache``.
///
/// A page that starts at `after` decodes from the frame that holds the first record above `after`
/// (``firstFrame(file:after:)``), not from the object's start, so a catch-up through a large snapshot decodes
/// each frame about once. A stream read decodes only the lines the stream index names (``lines(of:)``).
/// The bytes were checked against the manifest's MD5 when the index was built, and the hash chain recomputed
/// when it holds the whole snapshot (a snapshot read in part is checked by each object's MD5, as a streamed read
/// of it is): reads from it use only those checked bytes.
final class SnapshotIndex: Sendable {
    /// One data object of the snapshot.
    struct File: Sendable {
        var path: String
        var stored: [UInt8]
        var frames: [LodeFrame]
        /// The position of the last record of each frame and the frames before it (`Int64.min` before any).
        var lastPositions: [Int64]
    }

    /// Where a record line sits: its object, the frame within it, and its bytes within the frame's content.
    struct LineRef: Sendable {
        var file: UInt32
        var frame: UInt32
        var start: UInt32
        var count: UInt32
    }

    let snapshotID: String
    let files: [File]
    /// Each stream's lines (by ``StreamHash/fnv1a64(_:)``), in position order within each object.
    let streams: [UInt64: [LineRef]]
    /// What the index takes in memory (stored bytes, frame tables, stream index), for the cache's cap.
    let bytes: Int64

    init(snapshotID: String, files: [File], streams: [UInt64: [LineRef]]) {
        self.snapshotID = snapshotID
        self.files = files
        self.streams = streams
        // Capacities, not counts: a recycled buffer or a grown array holds more than it uses.
        let lineCount = streams.values.reduce(0) { $0 + $1.capacity }
        let fileBytes = files.reduce(Int64(0)) { $0 + Int64($1.stored.capacity) + Int64($1.frames.count * 40) }
        self.bytes = fileBytes + Int64(lineCount * MemoryLayout<LineRef>.stride) + Int64(streams.count * 64)
    }

    /// The memory an index of `cut` (or of its objects `files`) is expected to take, known before it is built
    /// (to decide whether to build it).
    static func estimatedBytes(_ cut: CutPoint, files: [Int]? = nil) -> Int64 {
        let objects = files ?? Array(cut.manifest.files.indices)
        return objects.reduce(Int64(0)) { $0 + cut.manifest.files[$1].sizeBytes } + cut.facts.eventCount * 24
    }

    /// The first frame of `file` holding a record above `after`, or nil when it holds none.
    func firstFrame(file: Int, after: Int64) -> Int? {
        let last = files[file].lastPositions
        var low = 0
        var high = last.count
        while low < high {
            let mid = (low + high) / 2
            if last[mid] > after { high = mid } else { low = mid + 1 }
        }
        return low < last.count ? low : nil
    }

    /// A feed of `file` that decodes the frames that can hold records with `after < position <= through`
    /// (nil when none can).
    func feed(file: Int, after: Int64, through: Int64) -> ObjectFeed? {
        guard let start = firstFrame(file: file, after: after) else { return nil }
        // The frame holding `through` is the last one needed (or the object's last frame).
        let end = firstFrame(file: file, after: through - 1).map { $0 + 1 } ?? files[file].frames.count
        return feed(file: file, frames: start..<max(start + 1, end))
    }

    /// A feed of `file` that decodes `frames`.
    func feed(file: Int, frames range: Range<Int>) -> ObjectFeed {
        ObjectFeed(path: files[file].path, stored: files[file].stored, frames: files[file].frames, decoding: range)
    }

    /// The content of one frame, decompressed into a buffer of its size (to be kept in a cache).
    func decode(file: Int, frame: Int) throws -> ChunkStorage {
        let frames = files[file].frames
        let feed = self.feed(file: file, frames: frame..<(frame + 1))
        let span = ObjectFeed.Span(
            frames: frame..<(frame + 1), bytes: frames[frame].contentSize ?? 0, isLast: frame == frames.count - 1)
        let decoded = try feed.decode(span)
        let exact = UnsafeMutableRawBufferPointer.allocate(byteCount: max(1, decoded.count), alignment: 16)
        exact.copyMemory(from: decoded.bytes)
        return ChunkStorage(buffer: exact, count: decoded.count)
    }

    /// The lines of the stream `hash` names (nil: none in this snapshot).
    func lines(of hash: UInt64) -> [LineRef]? {
        streams[hash]
    }
}
