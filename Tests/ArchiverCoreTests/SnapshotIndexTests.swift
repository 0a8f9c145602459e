import ArchiveFormat
import Coordination
import CoordinationSQLite
import Foundation
import Lode
import Synchronization
import Testing

@testable import ArchiverCore

/// The open-snapshot index of cold reads: what it records (frames' last positions, each stream's lines), pages
/// that start mid-object, stream reads from the stream index, and the cache that holds indexes and frames.
@Suite struct SnapshotIndexTests {
    /// Enough events for three category objects of several ~1 MiB frames each.
    static let eventCount = 40_000

    /// One snapshot of every event (the store keeps them all: it is the reference).
    static func withSnapshot(_ body: (TestArchive, Archive, CutPoint) async throws -> Void) async throws {
        try await TestArchive.with(bytesPerSnapshot: 1 << 30) { fixture in
            try await fixture.append(Self.eventCount, streams: 300)
            var options = FlushOptions(spoolDirectory: fixture.directory, producer: "lode-archiver test")
            options.leaseTTLSeconds = 3_600
            _ = try await Flusher(store: fixture.coordination, archive: try fixture.archive(), options: options).run()
            let archive = try fixture.archive()
            let plan = try await archive.plan(to: .latest)
            #expect(plan.count == 1 && plan.lastPosition == Int64(Self.eventCount))
            try await body(fixture, archive, try #require(plan.last))
        }
    }

    static func rendered(_ events: some Sequence<RecordedEvent>) -> [UInt8] {
        var out: [UInt8] = []
        for event in events { EventJSON.write(event, to: &out) }
        return out
    }

    @Test func theIndexNamesEveryLineOfEveryStreamAndTheFrameOfEveryPosition() async throws {
        try await Self.withSnapshot { fixture, archive, cut in
            let index = try #require(try await SnapshotIndex.build(cut, archive: archive))
            #expect(index.files.count == 3)
            #expect(index.files.allSatisfy { $0.frames.count >= 3 }, "\(index.files.map(\.frames.count)) frames")
            let all = try await fixture.coordination.readAll(after: 0, limit: Self.eventCount)
            #expect(all.count == Self.eventCount)

            // Each stream's lines, decoded from their frames, are the stream's events, in order.
            let streams = Dictionary(grouping: all, by: \.stream)
            #expect(streams.count == 300 && index.streams.count == 300)
            var frames: [String: ChunkStorage] = [:]
            for (stream, events) in streams {
                let refs = try #require(index.lines(of: StreamHash.fnv1a64(stream)))
                var decoded: [RecordedEvent] = []
                for ref in refs {
                    let key = "\(ref.file):\(ref.frame)"
                    if frames[key] == nil { frames[key] = try index.decode(file: Int(ref.file), frame: Int(ref.frame)) }
                    let frame = frames[key]!
                    let start = Int(ref.start)
                    let line = UnsafeRawBufferPointer(rebasing: frame.bytes[start..<(start + Int(ref.count))])
                    decoded.append(ColdEventSource.event(line, try RecordDecoder.decode(line)))
                }
                #expect(decoded == events, "stream \(stream)")
            }

            // The first frame holding a record above `after` is the one whose last position passes it.
            for file in index.files.indices {
                let last = index.files[file].lastPositions
                #expect(last == last.sorted() && last.first! > 0)
                let starts: [Int64] = [0, 1, 9_999, 20_000, 39_999, 40_000] + last.flatMap { [$0 - 1, $0, $0 + 1] }
                for after in starts {
                    let frame = index.firstFrame(file: file, after: after)
                    if let frame {
                        #expect(last[frame] > after && (frame == 0 || last[frame - 1] <= after))
                    } else {
                        #expect(last.last! <= after)
                    }
                }
            }
        }
    }

    @Test func aPageStartingMidObjectEqualsTheSamePageReadFromTheStart() async throws {
        try await Self.withSnapshot { fixture, archive, cut in
            let through = Int64(Self.eventCount)
            let reference = try await fixture.coordination.readAll(after: 0, limit: Self.eventCount)
            // A page read from the start of every object, on a source of its own.
            let fromStart = ColdEventSource(archive: archive, keys: fixture.coordination, cacheBytes: 1 << 30)
            let whole = try await fromStart.readAll(after: 0, through: through, limit: Self.eventCount)
            #expect(Self.rendered(whole) == Self.rendered(reference))

            // A fresh source whose first read starts mid-object, then pages that start at frame boundaries.
            let source = ColdEventSource(archive: archive, keys: fixture.coordination, cacheBytes: 1 << 30)
            var starts: [Int64] = [23_456, 0, 1, 9_999, through - 7]
            let index = try await SnapshotIndex.build(cut, archive: archive)
            for file in try #require(index).files { starts += file.lastPositions.flatMap { [$0 - 1, $0, $0 + 1] } }
            for after in starts where after >= 0 && after < through {
                let page = try await source.readAll(after: after, through: through, limit: 5_000)
                let expected = whole[Int(after)..<min(Int(after) + 5_000, Self.eventCount)]
                #expect(Self.rendered(page) == Self.rendered(expected), "page after \(after)")
            }
            // A page that ends at `through` before the snapshot's end.
            let bounded = try await source.readAll(after: 12_000, through: 12_500, limit: 5_000)
            #expect(bounded == Array(whole[12_000..<12_500]))
            #expect(source.cache.index("index:" + cut.snapshotID) != nil)
        }
    }

    @Test func aStreamReadFetchesOnlyItsObjectAndDecodesOnlyItsFramesThenFromTheCache() async throws {
        try await Self.withSnapshot { fixture, archive, cut in
            let through = Int64(Self.eventCount)
            let source = ColdEventSource(archive: archive, keys: fixture.coordination, cacheBytes: 1 << 30)
            let stream = "order-7"
            let expected = try await fixture.coordination.readStream(stream, fromVersion: 1, limit: 10_000)
            #expect(expected.count > 100)
            let first = try await source.readStream(stream, fromVersion: 1, through: through, limit: 10_000)
            #expect(Self.rendered(first) == Self.rendered(expected))

            // The first read answered from the frames (``StreamFrameScan``); the index is built off the request
            // path. The cache then holds an index of the one object the stream's category partition is in (no
            // other object was fetched), and after a read from it exactly the frames that hold the stream's lines.
            await source.indexBuildsFinished()
            let only = FileSelector(streams: [stream]).files(of: cut)
            #expect(only.count == 1 && cut.manifest.files.count == 3)
            let key = "index:\(cut.snapshotID)#\(only[0])"
            let index = try #require(source.cache.index(key))
            #expect(index.files.count == 1 && index.files[0].path.contains("category=order"))
            let refs = try #require(index.lines(of: StreamHash.fnv1a64(stream)))
            let frames = Set(refs.map { "frame:\(cut.snapshotID):\(index.files[Int($0.file)].path):\($0.frame)" })
            #expect(source.cache.count == 1)

            // Read again (warm), from a version on, and with a limit: the same events as the store's.
            let again = try await source.readStream(stream, fromVersion: 1, through: through, limit: 10_000)
            #expect(again == first)
            #expect(source.cache.count == 1 + frames.count)
            #expect(frames.allSatisfy { source.cache.frame($0) != nil })
            let tail = try await source.readStream(stream, fromVersion: 40, through: through, limit: 25)
            #expect(tail == Array(expected.dropFirst(39).prefix(25)))
            #expect(source.cache.count == 1 + frames.count)
        }
    }

    @Test func aSnapshotLargerThanTheCacheIsStreamedWithTheSameResult() async throws {
        try await Self.withSnapshot { fixture, archive, cut in
            let through = Int64(Self.eventCount)
            #expect(SnapshotIndex.estimatedBytes(cut) > 256 << 10)
            let small = ColdEventSource(archive: archive, keys: fixture.coordination, cacheBytes: 256 << 10)
            let large = ColdEventSource(archive: archive, keys: fixture.coordination, cacheBytes: 1 << 30)
            for after: Int64 in [0, 17_000, through - 3] {
                let a = try await small.readAll(after: after, through: through, limit: 4_000)
                let b = try await large.readAll(after: after, through: through, limit: 4_000)
                #expect(!a.isEmpty && a == b)
            }
            let a = try await small.readStream("account-3", fromVersion: 1, through: through, limit: 10_000)
            let b = try await large.readStream("account-3", fromVersion: 1, through: through, limit: 10_000)
            #expect(!a.isEmpty && a == b)
            #expect(small.cache.index("index:" + cut.snapshotID) == nil && small.cache.bytes <= 256 << 10)
        }
    }

    @Test func readersThatStartTogetherShareOneIndexBuild() async throws {
        try await Self.withSnapshot { fixture, archive, cut in
            let through = Int64(Self.eventCount)
            let watcher = CacheWatcher()
            let source = ColdEventSource(
                archive: archive, keys: fixture.coordination, cacheBytes: 1 << 30, observer: watcher)
            async let first = source.readAll(after: 0, through: through, limit: 1_000)
            async let later = source.readAll(after: 5_000, through: through, limit: 1_000)
            async let last = source.readAll(after: through - 500, through: through, limit: 1_000)
            let (a, b, c) = try await (first, later, last)
            #expect(a.map(\.position) == Array(1...1_000) && b.map(\.position) == Array(5_001...6_000))
            #expect(c.map(\.position) == Array((through - 499)...through))
            #expect(watcher.counts.withLock { $0.misses } == 1, "one index build, whatever reader came first")
            #expect(source.cache.index("index:" + cut.snapshotID) != nil)
            // A stream read once the whole snapshot is open uses its index: no other build, no other index.
            let stream = try await source.readStream("order-7", fromVersion: 1, through: through, limit: 10_000)
            #expect(stream.count > 100 && stream.allSatisfy { $0.stream == "order-7" })
            #expect(watcher.counts.withLock { $0.misses } == 1)
        }
    }

    /// A frame entry of `bytes` content bytes (filled with `fill`).
    static func frame(_ bytes: Int, fill: UInt8) -> ChunkStorage {
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: bytes, alignment: 16)
        buffer.initializeMemory(as: UInt8.self, repeating: fill)
        return ChunkStorage(buffer: buffer, count: bytes)
    }

    @Test func theCacheEvictsTheLeastRecentlyUsedEntryAndNeverPassesItsCap() {
        let cache = SnapshotEventCache(capacityBytes: 10_000)
        for (key, fill) in [("a", 1), ("b", 2), ("c", 3)] { cache.insert(key, Self.frame(3_000, fill: UInt8(fill))) }
        #expect(cache.count == 3 && cache.bytes == 3 * 3_064)
        #expect(cache.frame("a")?.bytes.first == 1)  // "a" is now the most recently used
        cache.insert("d", Self.frame(3_000, fill: 4))
        #expect(cache.frame("b") == nil, "the least recently used entry goes first")
        #expect(cache.frame("a")?.bytes.allSatisfy { $0 == 1 } == true)
        #expect(cache.frame("c")?.bytes.last == 3 && cache.frame("d")?.bytes.first == 4)
        #expect(cache.bytes <= cache.capacityBytes)
        // An entry larger than the cap is not kept and evicts nothing.
        cache.insert("huge", Self.frame(20_000, fill: 5))
        #expect(cache.frame("huge") == nil && cache.count == 3)
        // A large entry that fits evicts as many old entries as it needs.
        cache.insert("big", Self.frame(9_000, fill: 6))
        #expect(cache.count == 1 && cache.frame("big")?.count == 9_000 && cache.bytes == 9_064)
    }
}
