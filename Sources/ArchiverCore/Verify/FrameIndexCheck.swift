import ArchiveFormat
import Lode

/// Checks a snapshot's frame index (``ArchiveFrame``, format 2) while its files are read merged in position order:
/// each object's zstd frames start at the offsets its manifest lists, each frame's stored bytes have the SHA-256 the
/// manifest lists (when `digests`), and the chain value before each frame's first record is the one listed. A frame
/// moved, swapped between files or re-encoded, or an edited index entry, fails here, naming the object and frame.
///
/// The checks run after the snapshot's records were read, so a record-level problem (a broken chain) is reported
/// as such first.
struct FrameIndexCheck {
    private let snapshotID: String
    private let listedFileCount: Int
    private let digests: Bool
    private var files: [File]

    /// One object read: its frame list from the manifest, the frames found in it, and what the read saw.
    private struct File {
        let feed: ObjectFeed
        let expected: [ArchiveFrame]
        /// The zstd frames found in the stored bytes (also those a reader streams, such as a frame over 8 MiB
        /// that one record longer than the writer's 1 MiB input made).
        let found: [LodeFrame]
        /// Content offset where each found frame starts.
        let contentStarts: [Int64]
        var contentOffset: Int64 = 0
        /// The chain value before the record starting each found frame, in order.
        var chainStarts: [ChainHash] = []
    }

    /// Nil when the snapshot has no frame index or only some of its files are read.
    init?(_ loaded: ArchiveReader.LoadedSnapshot, digests: Bool) {
        guard !loaded.partial, let frames = loaded.cut.facts.fileFrames else { return nil }
        snapshotID = loaded.cut.snapshotID
        listedFileCount = frames.count
        self.digests = digests
        var indexOfPath: [String: Int] = [:]
        for (i, file) in loaded.cut.manifest.files.enumerated() { indexOfPath[file.path] = i }
        files = loaded.pipelines.map { pipeline in
            let index = indexOfPath[pipeline.feed.path].flatMap { $0 < frames.count ? $0 : nil }
            var starts: [Int64] = []
            var offset: Int64 = 0
            let found =
                pipeline.feed.frames ?? pipeline.feed.stored.withUnsafeBytes { DataObjectDecoder.frames(in: $0) } ?? []
            for frame in found {
                starts.append(offset)
                offset += Int64(frame.contentSize ?? 0)
            }
            return File(
                feed: pipeline.feed, expected: index.map { frames[$0] } ?? [], found: found, contentStarts: starts)
        }
    }

    /// Notes one record of file `file` (its index among the snapshot's pipelines): its length without the newline
    /// and the chain value before it.
    mutating func record(file: Int, lineBytes: Int, before: ChainHash) {
        let next = files[file].chainStarts.count
        if next < files[file].contentStarts.count, files[file].contentStarts[next] == files[file].contentOffset {
            files[file].chainStarts.append(before)
        }
        files[file].contentOffset += Int64(lineBytes + 1)
    }

    /// Throws at the first object whose frames differ from the index.
    func check() throws(ArchiveFormatError) {
        guard listedFileCount == files.count else {
            throw ArchiveFormatError(
                .chainMismatch,
                "snapshot \(snapshotID) indexes frames of \(listedFileCount) files, but lists \(files.count): its "
                    + "manifest metadata was altered")
        }
        for file in files { try check(file) }
    }

    private func check(_ file: File) throws(ArchiveFormatError) {
        let path = file.feed.path
        let found = file.found
        let offsets = found.map { Int64($0.offset) }
        guard offsets == file.expected.map(\.offset) else {
            throw ArchiveFormatError(
                .chainMismatch,
                "\(path): its zstd frames start at bytes \(Self.list(offsets)), but snapshot \(snapshotID)'s manifest "
                    + "indexes frames at \(Self.list(file.expected.map(\.offset))): frames were moved, swapped, added "
                    + "or removed, or the manifest's frame offsets were altered")
        }
        for (i, frame) in found.enumerated() {
            if digests {
                let bytes = frame.offset..<(frame.offset + frame.compressedSize)
                let digest = file.feed.stored.withUnsafeBytes { stored in
                    ArchiveFrame.digest(of: UnsafeRawBufferPointer(rebasing: stored[bytes]))
                }
                guard digest == file.expected[i].sha256 else {
                    throw ArchiveFormatError(
                        .chainMismatch,
                        "\(path): frame \(i) (bytes \(frame.offset)..<\(frame.offset + frame.compressedSize)) has "
                            + "SHA-256 \(digest.hex.prefix(16))…, but snapshot \(snapshotID)'s manifest records "
                            + "\(file.expected[i].sha256.hex.prefix(16))…: the frame's bytes were altered or "
                            + "swapped, or the manifest's frame digests were altered")
                }
            }
            guard i < file.chainStarts.count else {
                throw ArchiveFormatError(
                    .chainMismatch, "\(path): frame \(i) does not start at a record: the object was re-encoded")
            }
            guard file.chainStarts[i] == file.expected[i].chainStart else {
                throw ArchiveFormatError(
                    .chainMismatch,
                    "\(path): frame \(i)'s first record follows chain value \(file.chainStarts[i].hex.prefix(16))…, "
                        + "but snapshot \(snapshotID)'s manifest records \(file.expected[i].chainStart.hex.prefix(16))… "
                        + "for it: the frame was moved or swapped, or the manifest's frame chain values were altered")
            }
        }
    }

    private static func list(_ offsets: [Int64]) -> String {
        offsets.count <= 6
            ? "[" + offsets.map(String.init).joined(separator: ", ") + "]"
            : "[" + offsets.prefix(5).map(String.init).joined(separator: ", ") + ", … (\(offsets.count) frames)]"
    }
}
