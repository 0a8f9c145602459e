import Foundation
import Lode
import TestSupport
import Testing
import Zstd

/// The staging writer, checked against the gzip, zstd and md5sum tools.
@Suite struct SegmentFileWriterTests {
    static func lines(_ count: Int) -> [[UInt8]] {
        (0..<count).map {
            bytes(
                #"{"position":\#($0),"type":"Event\#($0 % 7)","data":{"k":"\#(String(repeating: "v", count: $0 % 300))"}}"#
            )
        }
    }

    @Test(arguments: [
        (LodeCompressor.noop, [String]()), (.gzip(level: 6), ["/usr/bin/gzip", "-d", "-c"]),
        (.zstd(level: 1), ["/usr/bin/zstd", "-d", "-q", "-c"]),
        (.zstd(level: 19), ["/usr/bin/zstd", "-d", "-q", "-c"]),
    ])
    func stagedFileMatchesTheTools(compressor: LodeCompressor, decompress: [String]) async throws {
        try await withTemporaryDirectory { dir in
            let writer = try SegmentFileWriter(compressor: compressor, directory: dir)
            #expect(writer.path.hasPrefix(dir + "/"))
            #expect(writer.path.hasSuffix(compressor.fileExtension))
            let records = Self.lines(20_000)
            for record in records { try writer.append(line: record) }
            let staged = try await writer.finish()
            let expectedPlain = records.flatMap { $0 + [UInt8(ascii: "\n")] }
            let stored = Array(try Data(contentsOf: URL(fileURLWithPath: staged.path)))
            #expect(staged.rowCount == 20_000)
            #expect(staged.uncompressedBytes == Int64(expectedPlain.count))
            #expect(staged.storedSize == Int64(stored.count))
            #expect(staged.md5Hex == (try await md5Hex(stored)))
            let plain =
                decompress.isEmpty
                ? stored : try await runTool(decompress[0], Array(decompress.dropFirst()), stdin: stored).stdout
            expectSameBytes(plain, expectedPlain)
            if compressor != .noop { #expect(stored.count < expectedPlain.count / 2) }
            staged.removeLocalFile()
            #expect(!FileManager.default.fileExists(atPath: staged.path))
            #expect(
                staged.fileRef(key: "k", checksum: .md5)
                    == FileRef(path: "k", sizeBytes: staged.storedSize, checksum: staged.md5Hex))
            #expect(staged.fileRef(key: "k", checksum: .none).checksum == nil)
        }
    }

    /// zstd output is whole frames of about 1 MiB, each recording its size and ending at a record's end, so a
    /// reader can decompress them independently; an empty file still gets one (empty) frame.
    @Test func zstdFramesEndAtRecordEnds() async throws {
        try await withTemporaryDirectory { dir in
            let writer = try SegmentFileWriter(compressor: .zstd(level: 1), directory: dir, background: true)
            let records = Self.lines(40_000)
            for record in records { try writer.append(line: record) }
            let staged = try await writer.finish()
            let stored = Array(try Data(contentsOf: URL(fileURLWithPath: staged.path)))
            let frames = try #require(stored.withUnsafeBytes { Zstd.frames(in: $0) })
            #expect(frames.count >= 5)
            let decompressor = try ZstdDecompressor()
            var plain: [UInt8] = []
            for frame in frames {
                let size = try #require(frame.contentSize)
                #expect(size >= 1 << 20 || frame == frames.last)
                var out = [UInt8](repeating: 0, count: size)
                _ = try stored.withUnsafeBytes { input in
                    try out.withUnsafeMutableBytes {
                        try decompressor.decompressFrame(
                            UnsafeRawBufferPointer(
                                rebasing: input[frame.offset..<(frame.offset + frame.compressedSize)]),
                            into: $0)
                    }
                }
                #expect(out.last == UInt8(ascii: "\n"))
                plain += out
            }
            expectSameBytes(plain, records.flatMap { $0 + [UInt8(ascii: "\n")] })
            staged.removeLocalFile()

            let empty = try await SegmentFileWriter(compressor: .zstd(level: 1), directory: dir).finish()
            let emptyStored = Array(try Data(contentsOf: URL(fileURLWithPath: empty.path)))
            #expect(emptyStored.withUnsafeBytes { Zstd.frames(in: $0) }?.map(\.contentSize) == [0])
            #expect(try Zstd.decompress(emptyStored).isEmpty)
            empty.removeLocalFile()
        }
    }

    /// N3, writer side: a record of 8 MiB or more is refused; so are blank lines and embedded newlines.
    @Test func refusesRecordsGoCannotRead() async throws {
        try await withTemporaryDirectory { dir in
            let writer = try SegmentFileWriter(compressor: .zstd(), directory: dir)
            let big = bytes("\"" + String(repeating: "x", count: 8 * 1024 * 1024 - 2) + "\"")
            #expect(big.count == 8 * 1024 * 1024)
            await expectLodeError(.invalidRecord) { try writer.append(line: big) }
            try writer.append(line: Array(big.dropFirst(2)) + bytes("\""))  // one byte under the limit: fine
            await expectLodeError(.invalidRecord) { try writer.append(line: []) }
            await expectLodeError(.invalidRecord) { try writer.append(line: bytes("{}\n{}")) }
            let staged = try await writer.finish()
            #expect(staged.rowCount == 1)
            staged.removeLocalFile()
        }
    }

    @Test func rawModeCountsNoRows() async throws {
        try await withTemporaryDirectory { dir in
            let writer = try SegmentFileWriter(compressor: .noop, directory: dir)
            let big = [UInt8](repeating: 7, count: 600_000)
            try big.withUnsafeBytes { try writer.append(raw: $0) }
            try [UInt8]([1, 2]).withUnsafeBytes { try writer.append(raw: $0) }
            let staged = try await writer.finish()
            #expect(staged.rowCount == 0)
            #expect(staged.storedSize == 600_002)
            #expect(Array(try Data(contentsOf: URL(fileURLWithPath: staged.path))) == big + [1, 2])
            staged.removeLocalFile()
        }
    }

    @Test func discardAndDeinitRemoveTheFile() async throws {
        try await withTemporaryDirectory { dir in
            let writer = try SegmentFileWriter(compressor: .gzip(), directory: dir)
            try writer.append(line: bytes("1"))
            let path = writer.path
            #expect(FileManager.default.fileExists(atPath: path))
            writer.discard()
            #expect(!FileManager.default.fileExists(atPath: path))
            await expectLodeError(.invalidConfiguration) { try await writer.finish() }
            var abandoned: SegmentFileWriter? = try SegmentFileWriter(compressor: .zstd(), directory: dir)
            let abandonedPath = abandoned!.path
            try abandoned!.append(line: bytes("2"))
            abandoned = nil
            #expect(!FileManager.default.fileExists(atPath: abandonedPath))
            #expect(try FileManager.default.contentsOfDirectory(atPath: dir) == [])
        }
    }

    @Test func invalidLevelIsAConfigurationError() async throws {
        await expectLodeError(.invalidConfiguration) { try SegmentFileWriter(compressor: .zstd(level: 99)) }
    }
}
