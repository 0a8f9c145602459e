import ArchiveFormat
import Foundation
import RawJSON
import Testing
import Zstd

@testable import ArchiverCore

/// The reader's chunked decoding: objects cut into chunks at line boundaries, decompressed in sequence and
/// decoded in parallel, then merged by position; line numbers and errors as if the object were read whole.
@Suite struct ChunkPipelineTests {
    /// A record line as the fast decoder expects it (the hash is not checked here).
    static func line(position: Int, stream: String = "account-1", data: String = #"{"amount":1}"#) -> String {
        #"{"position":\#(position),"stream":"\#(stream)","version":\#(position),"id":"e\#(position)","type":"t","#
            + #""recorded_at":"2026-11-23T10:00:00.000001Z","data":\#(data),"metadata":{},"hash":""#
            + String(repeating: "ab", count: 32) + #""}"#
    }

    /// - Parameter compressor: `zstd` (one frame streamed without its size), `noop`, or the archive writer's layout of whole
    ///   frames: `zstd-lines` (frames of about 1 MiB ending at line ends), `zstd-cut` (frames of 777,777 bytes,
    ///   cutting lines: another writer's), `zstd-big` (frames of 3 MiB, over a chunk) or `zstd-huge` (frames
    ///   too large to take whole, read as one stream).
    static func feed(_ text: String, path: String = "part.zst", compressor: String = "zstd") throws -> ChunkPipeline {
        let plain = Array(text.utf8)
        let stored: [UInt8]
        switch compressor {
        case "zstd":
            let writer = try ZstdCompressor(level: 1)
            var out: [UInt8] = []
            try plain.withUnsafeBytes { try writer.compress($0, into: &out) }
            try writer.finish(into: &out)
            stored = out
        case "zstd-lines", "zstd-cut", "zstd-big", "zstd-huge":
            let target = ["zstd-lines": 1 << 20, "zstd-cut": 777_777, "zstd-big": 3 << 20][compressor] ?? (9 << 20)
            let writer = try ZstdCompressor(level: 1)
            var out: [UInt8] = []
            var start = 0
            while start < plain.count {
                var end = min(plain.count, start + target)
                if compressor == "zstd-lines" {
                    while end < plain.count && plain[end - 1] != 0x0A { end += 1 }
                }
                try plain[start..<end].withUnsafeBytes { try writer.compressFrame($0, into: &out) }
                start = end
            }
            stored = out
        default: stored = plain
        }
        let feed = try ObjectFeed(
            path: path, stored: stored, compressor: compressor.hasPrefix("zstd") ? "zstd" : compressor)
        #expect(feed.isFramed == ["zstd-lines", "zstd-cut", "zstd-big"].contains(compressor))
        return ChunkPipeline(feed: feed)
    }

    static func read(_ pipelines: [ChunkPipeline]) async throws -> [(position: Int64, path: String, line: Int)] {
        var seen: [(Int64, String, Int)] = []
        try await ChunkMerger.forEachLine(pipelines) { _, fields, path, number in
            seen.append((fields.position, path, number))
        }
        return seen
    }

    /// Several chunks, a line longer than a chunk, blank lines and CRLF endings: every record once, in order,
    /// numbered by its line in the object.
    @Test(arguments: ["zstd", "noop", "zstd-lines", "zstd-cut", "zstd-big", "zstd-huge"])
    func linesAcrossChunksKeepTheirNumbers(compressor: String) async throws {
        var lines: [String] = []
        var expected: [(Int64, Int)] = []
        let huge = #"{"blob":""# + String(repeating: "x", count: ObjectFeed.chunkBytes + 12_345) + #""}"#
        for position in 1...30_000 {
            switch position {
            case 7: lines.append("")
            case 12_000: lines.append(Self.line(position: position, data: huge))
            case 20_000: lines.append(Self.line(position: position) + "\r")
            default: lines.append(Self.line(position: position))
            }
            if position != 7 { expected.append((Int64(position), lines.count)) }
        }
        let seen = try await Self.read([try Self.feed(lines.joined(separator: "\n") + "\n", compressor: compressor)])
        #expect(seen.count == expected.count)
        // The first record delivered out of order or misnumbered (nil: none).
        let wrong = zip(seen, expected).first { $0.position != $1.0 || $0.line != $1.1 }
        #expect(wrong == nil)
    }

    /// A malformed line in a later chunk: the records before it are delivered, then the error names the
    /// object and the line's number in the whole object.
    @Test(arguments: ["zstd", "zstd-lines", "zstd-cut"])
    func malformedLineInALaterChunkIsReportedWithItsLineNumber(compressor: String) async throws {
        var lines = (1...20_000).map { Self.line(position: $0) }
        lines[14_999] = #"{"position":15000,"stream":"#
        var delivered = 0
        let pipeline = try Self.feed(lines.joined(separator: "\n"), path: "obj.zst", compressor: compressor)
        let error = await #expect(throws: ArchiveFormatError.self) {
            try await ChunkMerger.forEachLine([pipeline]) { _, _, _, _ in delivered += 1 }
        }
        #expect(error?.message.contains("obj.zst line 15000") == true)
        #expect(delivered == 14_999)
    }

    /// Damage inside the compressed stream past the first chunk stops the read with the object named.
    @Test func corruptStreamIsAnError() async throws {
        let text = (1...20_000).map { Self.line(position: $0) }.joined(separator: "\n")
        var stored = try Zstd.compress(Array(text.utf8), level: 1)
        stored.removeLast(stored.count / 3)
        let pipeline = ChunkPipeline(feed: try ObjectFeed(path: "cut.zst", stored: stored, compressor: "zstd"))
        let error = await #expect(throws: (any Error).self) { _ = try await Self.read([pipeline]) }
        #expect("\(error.map { "\($0)" } ?? "")".contains("cut.zst"))
    }

    /// `nextChunk()` (the catalog's sequential reader) hands out whole lines from every layout, in order.
    @Test(arguments: ["zstd", "noop", "zstd-lines", "zstd-cut", "zstd-big"])
    func sequentialChunksAreWholeLines(compressor: String) async throws {
        let text = (1...25_000).map { Self.line(position: $0) }.joined(separator: "\n")
        let feed = try Self.feed(text, compressor: compressor).feed
        var joined: [UInt8] = []
        var chunks = 0
        while let chunk = try feed.nextChunk() {
            chunks += 1
            let bytes = chunk.bytes
            #expect(bytes.isEmpty || bytes.last == 0x0A || joined.count + bytes.count == text.utf8.count)
            joined += bytes
        }
        #expect(joined == Array(text.utf8))
        #expect(chunks >= (compressor == "noop" ? 1 : 2))
    }

    /// A frame altered in the middle of an object of whole frames stops the read with the object named, after
    /// the records of the frames before it.
    @Test func corruptFrameIsAnError() async throws {
        let text = (1...30_000).map { Self.line(position: $0) }.joined(separator: "\n") + "\n"
        let plain = Array(text.utf8)
        let writer = try ZstdCompressor(level: 1)
        var stored: [UInt8] = []
        var starts: [Int] = []
        for start in stride(from: 0, to: plain.count, by: 1 << 20) {
            starts.append(stored.count)
            try plain[start..<min(plain.count, start + (1 << 20))].withUnsafeBytes {
                try writer.compressFrame($0, into: &stored)
            }
        }
        #expect(starts.count >= 4)
        stored[starts[2] + 100] ^= 0x55
        let feed = try ObjectFeed(path: "flip.zst", stored: stored, compressor: "zstd")
        var delivered = 0
        let error = await #expect(throws: (any Error).self) {
            try await ChunkMerger.forEachLine([ChunkPipeline(feed: feed)]) { _, _, _, _ in delivered += 1 }
        }
        #expect("\(error.map { "\($0)" } ?? "")".contains("flip.zst"))
        #expect(delivered < 30_000)
    }

    /// Partition files merge into one position order.
    @Test func objectsMergeByPosition() async throws {
        let even = (1...9_000).map { Self.line(position: 2 * $0) }.joined(separator: "\n")
        let odd = (1...9_000).map { Self.line(position: 2 * $0 - 1) }.joined(separator: "\n")
        let seen = try await Self.read([try Self.feed(even, path: "even"), try Self.feed(odd, path: "odd")])
        #expect(seen.count == 18_000)
        #expect(zip(seen, 1...18_000).allSatisfy { $0.position == Int64($1) })
        #expect(seen.first { $0.position == 10 }.map { [$0.path, "\($0.line)"] } == ["even", "5"])
    }

    /// The stream table finds each stream's entry by hash and bytes, escaped names included, as a dictionary
    /// keyed by the decoded name would.
    @Test func streamTableAgreesWithADictionary() throws {
        var names = (0..<3_000).map { "account-\($0)" }
        names += [#"quote"d"#, #"back\slash"#, "uni\u{e9}", "tab\there", "a\\\\b", "a\\b"]
        var table = StreamTable<Int>()
        var reference: [String: Int] = [:]
        var g = SystemRandomNumberGenerator()
        for step in 0..<40_000 {
            let name = names[Int.random(in: 0..<names.count, using: &g)]
            var encoded: [UInt8] = []
            RawJSON.appendQuoted(name, to: &encoded)
            let text = Self.line(
                position: step + 1, stream: String(decoding: encoded.dropFirst().dropLast(), as: UTF8.self))
            try text.utf8CString.withUnsafeBytes { raw in
                let line = UnsafeRawBufferPointer(rebasing: raw.dropLast())
                let fields = try RecordDecoder.decode(line)
                let event = ReplayEvent(
                    line: line, fields: fields, data: UnsafeRawBufferPointer(rebasing: line[fields.data]))
                #expect(event.stream == name)
                #expect(event.streamHash == StreamHash.fnv1a64(name))
                let entry = table.entry(of: event) { 0 }
                table[entry] += 1
            }
            reference[name, default: 0] += 1
        }
        #expect(table.count == reference.count)
        for entry in table.sortedEntries() {
            #expect(reference[table.names[entry]] == table[entry])
        }
        #expect(table.sortedEntries().map { table.names[$0] } == reference.keys.sorted())
        #expect(
            table.entry(named: "account-7") { -1 } == table.sortedEntries().first { table.names[$0] == "account-7" })
    }
}
