import Foundation
import Gzip
import TestSupport
import Testing
import Zstd

/// Deterministic pseudo-random bytes (xorshift) so failures reproduce.
func sampleBytes(count: Int, seed: UInt64, compressible: Bool) -> [UInt8] {
    var state = seed | 1
    var out = [UInt8]()
    out.reserveCapacity(count)
    let words = Array("account deposit withdraw {\"amount\":42,\"currency\":\"EUR\"} ".utf8)
    while out.count < count {
        state ^= state << 13
        state ^= state >> 7
        state ^= state << 17
        if compressible {
            out.append(words[Int(state % UInt64(words.count))])
            if state % 5 == 0 { out.append(contentsOf: words.prefix(Int(state % 20))) }
        } else {
            out.append(UInt8(truncatingIfNeeded: state))
        }
    }
    return Array(out.prefix(count))
}

@Suite struct ZstdTests {
    static let sizes = [0, 1, 100, 131_072, 1_000_003, 5_000_000]

    @Test(arguments: sizes)
    func roundTrip(size: Int) throws {
        for compressible in [true, false] {
            let input = sampleBytes(count: size, seed: UInt64(size) + 7, compressible: compressible)
            for level: Int32 in [1, 3, 9] {
                let packed = try Zstd.compress(input, level: level)
                #expect(Zstd.frameContentSize(packed) == UInt64(size))
                #expect(try Zstd.decompress(packed) == input)
            }
        }
    }

    @Test func compressedDataIsReadByTheZstdTool() async throws {
        let input = sampleBytes(count: 300_000, seed: 3, compressible: true)
        let packed = try Zstd.compress(input, level: 3)
        #expect(packed.count < input.count / 2)
        let tool = try await runTool("zstd", ["-d", "-c"], stdin: packed)
        #expect(tool.status == 0)
        #expect(tool.stdout == input)
    }

    @Test func readsWhatTheZstdToolWrites() async throws {
        let input = sampleBytes(count: 250_000, seed: 4, compressible: true)
        let tool = try await runTool("zstd", ["-3", "-c", "--no-progress"], stdin: input)
        #expect(tool.status == 0)
        #expect(try Zstd.decompress(tool.stdout) == input)
    }

    @Test func multipleFramesAndSkippableFrames() throws {
        let a = sampleBytes(count: 10_000, seed: 1, compressible: true)
        let b = sampleBytes(count: 20_000, seed: 2, compressible: false)
        // A skippable frame: magic 0x184D2A50 (little endian), 4-byte length, payload.
        let skippable: [UInt8] = [0x50, 0x2A, 0x4D, 0x18, 3, 0, 0, 0, 9, 9, 9]
        let joined = try Zstd.compress(a) + skippable + Zstd.compress(b, level: 1)
        #expect(try Zstd.decompress(joined) == a + b)
    }

    /// Whole frames from `compressFrame`: one stream to the zstd tool and to the streaming reader, and frames
    /// that `Zstd.frames(in:)` finds with their sizes and that decompress one by one.
    @Test func wholeFramesAreOneStreamAndDecompressAlone() async throws {
        let pieces = [0, 1, 4096, 1_000_003, 70_000].enumerated().map {
            sampleBytes(count: $1, seed: UInt64($0 + 20), compressible: $0 != 2)
        }
        let compressor = try ZstdCompressor(level: 1)
        var stored: [UInt8] = []
        for piece in pieces { try piece.withUnsafeBytes { try compressor.compressFrame($0, into: &stored) } }
        let whole = Array(pieces.joined())
        #expect(try Zstd.decompress(stored) == whole)
        let tool = try await runTool("zstd", ["-dc"], stdin: stored)
        #expect(tool.status == 0 && tool.stdout == whole)
        let frames = try #require(stored.withUnsafeBytes { Zstd.frames(in: $0) })
        #expect(frames.map(\.contentSize) == pieces.map { $0.count })
        #expect(frames.last.map { $0.offset + $0.compressedSize } == stored.count)
        let decompressor = try ZstdDecompressor()
        for (frame, piece) in zip(frames, pieces) {
            var out = [UInt8](repeating: 0, count: piece.count)
            let produced = try stored.withUnsafeBytes { input in
                try out.withUnsafeMutableBytes { output in
                    try decompressor.decompressFrame(
                        UnsafeRawBufferPointer(rebasing: input[frame.offset..<(frame.offset + frame.compressedSize)]),
                        into: output)
                }
            }
            #expect(produced == piece.count && out == piece)
        }
        // A streamed frame records no size; mixing the two in one compressor is refused.
        let streamed = try ZstdCompressor(level: 1)
        var open: [UInt8] = []
        try pieces[3].withUnsafeBytes { try streamed.compress($0, into: &open) }
        #expect(throws: ZstdError.self) {
            try pieces[1].withUnsafeBytes { try streamed.compressFrame($0, into: &open) }
        }
        try streamed.finish(into: &open)
        #expect(open.withUnsafeBytes { Zstd.frames(in: $0) }?.map(\.contentSize) == [nil])
    }

    /// Frame walking refuses what is not a whole sequence of frames, and skips over skippable frames.
    @Test func frameWalkingRefusesTruncationAndGarbage() throws {
        let a = try Zstd.compress(sampleBytes(count: 50_000, seed: 3, compressible: true), level: 1)
        let skippable: [UInt8] = [0x50, 0x2A, 0x4D, 0x18, 3, 0, 0, 0, 9, 9, 9]
        let joined = a + skippable + a
        #expect(joined.withUnsafeBytes { Zstd.frames(in: $0) }?.map(\.contentSize) == [50_000, 0, 50_000])
        for cut in [1, 5, a.count / 2, a.count - 1] {
            #expect(Array(a.prefix(cut)).withUnsafeBytes { Zstd.frames(in: $0) } == nil)
        }
        #expect((a + [1, 2, 3]).withUnsafeBytes { Zstd.frames(in: $0) } == nil)
        #expect(Array("not zstd at all".utf8).withUnsafeBytes { Zstd.frames(in: $0) } == nil)
        // A frame whose body was altered: found by its headers, refused when decompressed (content checksum).
        var flipped = a
        flipped[a.count / 2] ^= 0x40
        let frames = try #require(flipped.withUnsafeBytes { Zstd.frames(in: $0) })
        var out = [UInt8](repeating: 0, count: 50_000)
        #expect(throws: ZstdError.self) {
            _ = try flipped.withUnsafeBytes { input in
                try out.withUnsafeMutableBytes {
                    try ZstdDecompressor().decompressFrame(
                        UnsafeRawBufferPointer(rebasing: input[0..<frames[0].compressedSize]), into: $0)
                }
            }
        }
    }

    @Test func streamingMatchesOneShotInAnyChunking() throws {
        let input = sampleBytes(count: 777_777, seed: 9, compressible: true)
        for chunk in [1, 7, 4096, 100_000] {
            let compressor = try ZstdCompressor(level: 3)
            var packed: [UInt8] = []
            var offset = 0
            while offset < input.count {
                let end = min(offset + chunk * 37, input.count)
                try input[offset..<end].withUnsafeBytes { try compressor.compress($0, into: &packed) }
                offset = end
            }
            try compressor.finish(into: &packed)
            let decompressor = try ZstdDecompressor()
            var plain: [UInt8] = []
            offset = 0
            while offset < packed.count {
                let end = min(offset + chunk, packed.count)
                try packed[offset..<end].withUnsafeBytes { try decompressor.decompress($0, into: &plain) }
                offset = end
            }
            try decompressor.finish()
            #expect(plain == input)
        }
    }

    @Test func truncationAtEveryCutIsAnError() throws {
        let packed = try Zstd.compress(sampleBytes(count: 5_000, seed: 5, compressible: true))
        for cut in 0..<packed.count {
            #expect(throws: ZstdError.self) { try Zstd.decompress(Array(packed[0..<cut])) }
        }
    }

    @Test func garbageAndFlippedBytesAreErrors() throws {
        #expect(throws: ZstdError.self) { try Zstd.decompress(Array("not zstd at all".utf8)) }
        let input = sampleBytes(count: 50_000, seed: 6, compressible: true)
        let packed = try Zstd.compress(input, checksum: true)
        var detected = 0
        for index in stride(from: 4, to: packed.count, by: max(1, packed.count / 200)) {
            var damaged = packed
            damaged[index] ^= 0x41
            // With the content checksum on, any change is either a decode error or a checksum error.
            if (try? Zstd.decompress(damaged)) == nil { detected += 1 }
        }
        #expect(detected > 0)
        var last = packed
        last[last.count - 1] ^= 0xFF  // inside the XXH64 checksum
        #expect(throws: ZstdError.self) { try Zstd.decompress(last) }
    }

    @Test func outputLimitStopsDecompressionBombs() throws {
        let packed = try Zstd.compress([UInt8](repeating: 0, count: 10_000_000), level: 19)
        #expect(packed.count < 2_000)
        #expect(throws: ZstdError.self) { try Zstd.decompress(packed, maxOutputSize: 1_000_000) }
    }

    @Test func invalidLevelIsRejected() {
        #expect(throws: ZstdError.self) { try ZstdCompressor(level: 1000) }
    }
}

@Suite struct GzipTests {
    @Test(arguments: [0, 1, 1000, 300_000, 2_000_000])
    func roundTrip(size: Int) throws {
        let input = sampleBytes(count: size, seed: UInt64(size) + 11, compressible: size % 2 == 0)
        let packed = try Gzip.compress(input)
        #expect(try Gzip.decompress(packed) == input)
    }

    @Test func interoperatesWithTheGzipTool() async throws {
        let input = sampleBytes(count: 200_000, seed: 12, compressible: true)
        let plain = try await runTool("gzip", ["-d", "-c"], stdin: try Gzip.compress(input))
        #expect(plain.status == 0 && plain.stdout == input)
        let packed = try await runTool("gzip", ["-c"], stdin: input)
        #expect(packed.status == 0)
        #expect(try Gzip.decompress(packed.stdout) == input)
    }

    @Test func multipleMembers() throws {
        let a = sampleBytes(count: 70_000, seed: 13, compressible: true)
        let b = sampleBytes(count: 90_000, seed: 14, compressible: true)
        #expect(try Gzip.decompress(Gzip.compress(a) + Gzip.compress(b, level: 1)) == a + b)
    }

    @Test func truncationAndGarbageAreErrors() throws {
        let packed = try Gzip.compress(sampleBytes(count: 4_000, seed: 15, compressible: true))
        for cut in 0..<packed.count {
            #expect(throws: GzipError.self) { try Gzip.decompress(Array(packed[0..<cut])) }
        }
        #expect(throws: GzipError.self) { try Gzip.decompress(Array("plain text".utf8)) }
        var crc = packed
        crc[crc.count - 6] ^= 1  // inside the CRC-32 trailer
        #expect(throws: GzipError.self) { try Gzip.decompress(crc) }
    }
}
