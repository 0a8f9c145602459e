import Crypto
public import Lode

/// One independently decodable zstd frame of a format 2 data file, as its manifest indexes it: where the frame
/// starts in the stored object, the chain value before its first record, and the SHA-256 of its stored bytes.
///
/// A reader may start at any frame: it fetches the frame's bytes (up to the next frame's offset, or the object's
/// end), checks them against ``sha256`` and decodes them on their own. The digest is SHA-256, the chain's own hash,
/// rather than the objects' MD5: a frame read alone is not covered by the chain recomputation, so its digest has
/// to resist forgery as the chain does. Manifest metadata keys (one list per data file in the manifest's `files`
/// order, files separated by spaces, frames by commas): `archiver.frame_offsets` (decimal),
/// `archiver.frame_chain_starts` and `archiver.frame_sha256` (64 hex digits each).
public struct ArchiveFrame: Sendable, Hashable {
    /// Byte offset of the frame in the stored object.
    public var offset: Int64
    /// The chain value before the frame's first record (in a partitioned snapshot, the chain runs over all of the
    /// snapshot's files merged by position).
    public var chainStart: ChainHash
    /// SHA-256 of the frame's stored (compressed) bytes, held as a 32-byte ``ChainHash`` value.
    public var sha256: ChainHash

    public init(offset: Int64, chainStart: ChainHash, sha256: ChainHash) {
        self.offset = offset
        self.chainStart = chainStart
        self.sha256 = sha256
    }

    /// The index of a staged file whose records starting a frame followed `chainStarts` (one per frame, in order);
    /// nil when they do not pair up (a compressor without frames, or an empty file).
    public static func index(of staged: StagedFile, chainStarts: [ChainHash]) -> [ArchiveFrame]? {
        guard !staged.frames.isEmpty, staged.frames.count == chainStarts.count else { return nil }
        return zip(staged.frames, chainStarts).map {
            ArchiveFrame(offset: $0.offset, chainStart: $1, sha256: ChainHash(bytes: $0.sha256))
        }
    }

    /// A snapshot's frame index from its files' (in the manifest's `files` order): nil unless every file has one.
    public static func snapshotIndex(_ files: [[ArchiveFrame]?]) -> [[ArchiveFrame]]? {
        let indexed = files.compactMap { $0 }
        return indexed.count == files.count && !files.isEmpty ? indexed : nil
    }

    /// The digest a frame's ``sha256`` records: SHA-256 of its stored (compressed) bytes.
    public static func digest(of stored: UnsafeRawBufferPointer) -> ChainHash {
        ChainHash(digest: SHA256.hash(data: stored))
    }

    /// The stored byte range of frame `index` of `frames`, in an object of `size` bytes.
    public static func byteRange(of index: Int, in frames: [ArchiveFrame], objectSize: Int64) -> Range<Int64> {
        frames[index].offset..<(index + 1 < frames.count ? frames[index + 1].offset : objectSize)
    }
}

extension ArchiveFrame {
    enum Key {
        static let offsets = "archiver.frame_offsets"
        static let chainStarts = "archiver.frame_chain_starts"
        static let sha256 = "archiver.frame_sha256"
    }

    /// The three metadata entries of a snapshot's per-file frame lists.
    static func entries(_ files: [[ArchiveFrame]]) -> [String: String] {
        func join(_ value: (ArchiveFrame) -> String) -> String {
            files.map { $0.map(value).joined(separator: ",") }.joined(separator: " ")
        }
        return [
            Key.offsets: join { String($0.offset) }, Key.chainStarts: join(\.chainStart.hex),
            Key.sha256: join(\.sha256.hex),
        ]
    }

    /// Parses the per-file frame lists: all three keys or none, the same file and frame counts in each, offsets
    /// starting at 0 and increasing.
    static func files(in m: [String: String]) throws(ArchiveFormatError) -> [[ArchiveFrame]]? {
        let texts = [m[Key.offsets], m[Key.chainStarts], m[Key.sha256]]
        if texts.allSatisfy({ $0 == nil }) { return nil }
        guard let offsetsText = texts[0], let startsText = texts[1], let digestsText = texts[2] else {
            throw malformed("lacks one of \(Key.offsets), \(Key.chainStarts) and \(Key.sha256)")
        }
        let offsets = offsetsText.split(separator: " ", omittingEmptySubsequences: false)
        let starts = startsText.split(separator: " ", omittingEmptySubsequences: false)
        let digests = digestsText.split(separator: " ", omittingEmptySubsequences: false)
        guard offsets.count == starts.count, offsets.count == digests.count else {
            throw malformed(
                "lists \(offsets.count), \(starts.count) and \(digests.count) files in its three frame keys")
        }
        var files: [[ArchiveFrame]] = []
        for file in offsets.indices {
            files.append(try frames(offsets[file], starts[file], digests[file]))
        }
        return files
    }

    private static func frames(
        _ offsets: Substring, _ starts: Substring, _ digests: Substring
    ) throws(ArchiveFormatError) -> [ArchiveFrame] {
        let o = offsets.split(separator: ",", omittingEmptySubsequences: false)
        let s = starts.split(separator: ",", omittingEmptySubsequences: false)
        let d = digests.split(separator: ",", omittingEmptySubsequences: false)
        guard o.count == s.count, o.count == d.count else {
            throw malformed("lists \(o.count), \(s.count) and \(d.count) frames of one file in its three frame keys")
        }
        var frames: [ArchiveFrame] = []
        for i in o.indices {
            guard let offset = Int64(o[i]), i > 0 || offset == 0, offset > (frames.last?.offset ?? -1)
            else { throw malformed("\(Key.offsets) is not increasing decimal offsets starting at 0") }
            guard s[i].count == 64, let start = ChainHash(hex: String(s[i])) else {
                throw malformed("\(Key.chainStarts) is not 64-digit hex hashes")
            }
            guard d[i].count == 64, let digest = ChainHash(hex: String(d[i])) else {
                throw malformed("\(Key.sha256) is not 64-digit hex digests")
            }
            frames.append(ArchiveFrame(offset: offset, chainStart: start, sha256: digest))
        }
        return frames
    }

    private static func malformed(_ what: String) -> ArchiveFormatError {
        ArchiveFormatError(.badMetadata, "manifest metadata \(what): the frame index was altered or truncated")
    }
}
