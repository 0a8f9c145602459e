import ArchiveFormat
import Foundation
import Lode
import TestSupport
import Testing

/// The per-file frame index of format 2 manifests: what the writer notes, and how metadata carries it.
@Suite struct ArchiveFrameTests {
    static func frames(_ seed: UInt8, count: Int) -> [ArchiveFrame] {
        (0..<count).map { i in
            ArchiveFrame(
                offset: Int64(i * 1000), chainStart: ChainHash(bytes: Array(repeating: seed &+ UInt8(i), count: 32)),
                sha256: ChainHash(bytes: Array(repeating: seed &+ 100 &+ UInt8(i), count: 32)))
        }
    }

    static func facts() -> ArchiveMetadata {
        var facts = ArchiveMetadata(
            firstPosition: 1, lastPosition: 9, eventCount: 9, chainStart: .genesis, chainHead: .genesis,
            parentManifestSHA256: "", cutName: nil, producer: "test", fencingToken: 1, minRecordedAtNanos: 1_000,
            maxRecordedAtNanos: 9_000)
        facts.format = .v2
        facts.fileFrames = [frames(1, count: 3), frames(7, count: 1)]
        return facts
    }

    @Test func metadataCarriesEachFilesFrames() throws {
        let facts = Self.facts()
        let entries = facts.entries
        #expect(entries["archiver.frame_offsets"] == "0,1000,2000 0")
        let starts = try #require(entries["archiver.frame_chain_starts"])
        #expect(starts.split(separator: " ").map { $0.split(separator: ",").count } == [3, 1])
        #expect(starts.hasPrefix(String(repeating: "01", count: 32) + "," + String(repeating: "02", count: 32)))
        #expect(entries["archiver.frame_sha256"]?.hasPrefix(String(repeating: "65", count: 32)) == true)
        #expect(try ArchiveMetadata(entries: entries) == facts)
        var without = facts
        without.fileFrames = nil
        #expect(try ArchiveMetadata(entries: without.entries).fileFrames == nil)
    }

    @Test(arguments: [
        ("archiver.frame_offsets", "5,1000,2000 0"),  // does not start at 0
        ("archiver.frame_offsets", "0,2000,1000 0"),  // not increasing
        ("archiver.frame_offsets", "0,1000 0"),  // two frames where the other keys list three
        ("archiver.frame_offsets", "0,1000,2000"),  // one file where the other keys list two
        ("archiver.frame_sha256", "xyz"),
        ("archiver.frame_chain_starts", nil),  // one key of three missing
    ])
    func malformedIndexIsRefused(key: String, value: String?) throws {
        var entries = Self.facts().entries
        entries[key] = value
        #expect(throws: ArchiveFormatError.self) { try ArchiveMetadata(entries: entries) }
    }

    /// The writer notes each zstd frame it writes: the offsets are where the frames are found in the file, the
    /// digests those of the frames' bytes, and `nextLineStartsFrame` is true exactly before each frame's first line.
    @Test func writerNotesEachFrameAndWhichLineStartsIt() async throws {
        let writer = try SegmentFileWriter(compressor: .zstd(level: 3))
        var firstLines: [Int] = []
        for i in 0..<5_000 {
            if writer.nextLineStartsFrame { firstLines.append(i) }
            let line = #"{"n":\#(i),"pad":"\#(String(repeating: "x\(i % 97)", count: 200))"}"#
            try writer.append(line: Array(line.utf8))
        }
        let staged = try await writer.finish()
        defer { staged.removeLocalFile() }
        let stored = try Data(contentsOf: URL(fileURLWithPath: staged.path))
        let found = try #require(stored.withUnsafeBytes { DataObjectDecoder.frames(in: $0) })
        #expect(found.count >= 3)
        #expect(staged.frames.map(\.offset) == found.map { Int64($0.offset) })
        #expect(firstLines.count == found.count && firstLines.first == 0)
        for (frame, noted) in zip(found, staged.frames) {
            let bytes = stored[frame.offset..<(frame.offset + frame.compressedSize)]
            #expect(ChainHash(bytes: noted.sha256).hex == (try await Self.sha256sum(Array(bytes))))
        }
        let index = try #require(
            ArchiveFrame.index(of: staged, chainStarts: firstLines.map { _ in ChainHash.genesis }))
        #expect(
            ArchiveFrame.byteRange(of: index.count - 1, in: index, objectSize: staged.storedSize).upperBound
                == Int64(stored.count))
        #expect(ArchiveFrame.index(of: staged, chainStarts: []) == nil)
    }

    /// SHA-256 hex by coreutils' `sha256sum`, a reference independent of the writer's hashing.
    static func sha256sum(_ bytes: [UInt8]) async throws -> String {
        String(try await runTool("sha256sum", stdin: bytes).text.prefix(64))
    }
}
