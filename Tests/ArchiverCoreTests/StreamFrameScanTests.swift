import ArchiveFormat
import Coordination
import CoordinationSQLite
import Foundation
import Lode
import Testing

@testable import ArchiverCore

/// The cold one-stream read that answers from a format 2 snapshot's frames (``StreamFrameScan``) before any index
/// is built: the same events as the indexed read and as the hot store, and an altered frame is an error.
@Suite struct StreamFrameScanTests {
    /// Enough events for category objects of several ~1 MiB frames each, in two snapshots.
    static let eventCount = 60_000

    /// Two snapshots (two flushes) of every event in `format`; the store keeps them all: it is the reference.
    static func withArchive(
        _ format: RecordFormat, _ body: (TestArchive, Archive, ReadPlan) async throws -> Void
    ) async throws {
        try await TestArchive.with(bytesPerSnapshot: 1 << 30) { fixture in
            fixture.settings.recordFormat = format
            var options = FlushOptions(spoolDirectory: fixture.directory, producer: "lode-archiver test")
            options.leaseTTLSeconds = 3_600
            for half in 0..<2 {
                try await fixture.append(Self.eventCount / 2, streams: 300, from: half * Self.eventCount / 2)
                _ = try await Flusher(store: fixture.coordination, archive: try fixture.archive(), options: options)
                    .run()
            }
            let archive = try fixture.archive()
            let plan = try await archive.plan(to: .latest)
            #expect(plan.count == 2 && plan.lastPosition == Int64(Self.eventCount))
            try await body(fixture, archive, plan)
        }
    }

    static func rendered(_ events: some Sequence<RecordedEvent>) -> [UInt8] {
        var out: [UInt8] = []
        for event in events { EventJSON.write(event, to: &out) }
        return out
    }

    @Test(arguments: [RecordFormat.v1, .v2])
    func aColdStreamReadEqualsTheIndexedReadAndTheStore(format: RecordFormat) async throws {
        try await Self.withArchive(format) { fixture, archive, plan in
            let through = Int64(Self.eventCount)
            let cuts = try await plan.allCuts()
            // Format 2 snapshots are scanned frame by frame; format 1 ones have no frame index.
            for cut in cuts {
                let frames = cut.facts.fileFrames?.reduce(0) { $0 + $1.count } ?? 0
                #expect(format == .v1 ? frames == 0 : frames > cut.manifest.files.count, "\(frames) frames")
                let scanned = try await StreamFrameScan(stream: "order-7").read(
                    cut, files: Array(cut.manifest.files.indices), archive: archive, accept: { _ in true })
                #expect((scanned != nil) == (format == .v2))
            }
            for stream in ["order-7", "account-0", "invoice-299", "account-150", "no-such-stream"] {
                let expected = try await fixture.coordination.readStream(stream, fromVersion: 1, limit: 10_000)
                #expect(stream == "no-such-stream" ? expected.isEmpty : expected.count > 150)
                let source = ColdEventSource(archive: archive, keys: fixture.coordination, cacheBytes: 1 << 30)
                let cold = try await source.readStream(stream, fromVersion: 1, through: through, limit: 10_000)
                #expect(Self.rendered(cold) == Self.rendered(expected), "\(stream) cold")
                let tail = try await ColdEventSource(archive: archive, keys: fixture.coordination)
                    .readStream(stream, fromVersion: 40, through: through, limit: 25)
                #expect(tail == Array(expected.dropFirst(39).prefix(25)), "\(stream) from version 40")
                let bounded = try await ColdEventSource(archive: archive, keys: fixture.coordination)
                    .readStream(stream, fromVersion: 1, through: through / 2, limit: 10_000)
                #expect(bounded == expected.filter { $0.position <= through / 2 }, "\(stream) through the middle")

                // Once the index built off the request path is in, the same read answers from it.
                await source.indexBuildsFinished()
                // (The stream filters rule out every object for a stream the archive does not hold.)
                #expect(source.cache.count >= (expected.isEmpty ? 0 : cuts.count))
                let warm = try await source.readStream(stream, fromVersion: 1, through: through, limit: 10_000)
                #expect(Self.rendered(warm) == Self.rendered(expected), "\(stream) warm")
            }
        }
    }

    @Test func aTamperedFrameIsAReadErrorNamingTheObject() async throws {
        try await Self.withArchive(.v2) { fixture, _, plan in
            let cut = try #require(try await plan.allCuts().first)
            let file = try #require(cut.manifest.files.firstIndex { $0.path.contains("category=order") })
            let frames = try #require(cut.facts.fileFrames?[file])
            #expect(frames.count > 1)
            let victim = cut.manifest.files[file].path
            var bytes = try await fixture.memory.get(victim)
            // One byte inside the second frame (whose header stays intact).
            bytes[Int(frames[1].offset) + 100] ^= 0x01
            // Objects are create-only: replace it the way someone with write access to the bucket would.
            try await fixture.memory.delete(victim)
            try await fixture.memory.put(victim, bytes)
            let source = ColdEventSource(archive: try fixture.archive(), keys: fixture.coordination)
            do {
                let events = try await source.readStream(
                    "order-7", fromVersion: 1, through: Int64(Self.eventCount), limit: 10_000)
                Issue.record("read \(events.count) events from a tampered frame")
            } catch {
                #expect("\(error)".contains(victim) && "\(error)".contains("frame 1"), "\(error)")
            }
            // A stream of another category, in objects left intact, still reads.
            let intact = try await fixture.coordination.readStream("account-0", fromVersion: 1, limit: 10_000)
            let read = try await source.readStream(
                "account-0", fromVersion: 1, through: Int64(Self.eventCount), limit: 10_000)
            #expect(read == intact && !intact.isEmpty)
        }
    }

    @Test func onlyLinesOfAnotherStreamInTheWritersLayoutAreSkipped() {
        let scan = StreamFrameScan(stream: "order-7")
        func mayHold(_ line: String) -> Bool {
            Array(line.utf8).withUnsafeBytes { scan.mayHold($0) }
        }
        #expect(mayHold(#"{"position":12,"stream":"order-7","version":1}"#))
        #expect(!mayHold(#"{"position":12,"stream":"order-77","version":1}"#))
        #expect(!mayHold(#"{"position":12,"stream":"order-","version":1}"#))
        #expect(!mayHold(#"{"position":12,"stream":"account-7","version":1}"#))
        // The same name written with an escape, or another layout: decoded, never skipped.
        #expect(mayHold(#"{"position":12,"stream":"order\u002d7","version":1}"#))
        #expect(mayHold(#"{"stream":"account-7","position":12,"version":1}"#))
        #expect(mayHold(#"{"position":12, "stream":"account-7","version":1}"#))
        // A name the writer escapes has no needle: every line is decoded.
        let quoted = StreamFrameScan(stream: #"a"b"#)
        #expect(quoted.needle == nil)
        #expect(Array(#"{"position":1,"stream":"x","version":1}"#.utf8).withUnsafeBytes { quoted.mayHold($0) })
    }
}
