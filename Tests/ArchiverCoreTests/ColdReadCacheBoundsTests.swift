import ArchiveFormat
import ArchiverCore
import Coordination
import Foundation
import Synchronization
import Testing

/// What a cold source reported about its cache: the largest size seen and the hits and misses.
final class CacheWatcher: ColdReadObserver {
    struct Counts {
        var reads = 0
        var hits = 0
        var misses = 0
        var maxBytes: Int64 = 0
    }

    let counts = Mutex(Counts())

    func coldRead(seconds: Double) { counts.withLock { $0.reads += 1 } }
    func cacheHit() { counts.withLock { $0.hits += 1 } }
    func cacheMiss(storedBytes: Int64) { counts.withLock { $0.misses += 1 } }
    func cacheBytes(_ bytes: Int64) { counts.withLock { $0.maxBytes = max($0.maxBytes, bytes) } }
}

/// The decoded-snapshot cache stays under its cap while a large archive is read through it, and what a read
/// returns does not depend on the cap.
@Suite struct ColdReadCacheBoundsTests {
    static let eventCount = 100_000
    static let smallCap: Int64 = 1 << 20

    /// Every read of the comparison, rendered by the one renderer: the global order in pages (twice, so the
    /// second pass meets an evicted cache), then whole streams; checks the cache's bytes after every read.
    static func transcript(_ source: ColdEventSource, through: Int64) async throws -> [UInt8] {
        var out: [UInt8] = []
        for _ in 0..<2 {
            var position: Int64 = 0
            while position < through {
                let page = try await source.readAll(after: position, through: through, limit: 4_000)
                let last = try #require(page.last)
                #expect(page.first?.position == position + 1 && last.position == position + Int64(page.count))
                for event in page { EventJSON.write(event, to: &out) }
                position = last.position
                #expect(source.cache.bytes <= source.cache.capacityBytes)
            }
        }
        for stream in ["account-0", "order-7", "invoice-44", "order-43"] {
            let events = try await source.readStream(stream, fromVersion: 1, through: through, limit: 100_000)
            #expect(!events.isEmpty && events.allSatisfy { $0.stream == stream })
            #expect(events.map(\.version) == Array(1...Int64(events.count)))
            for event in events { EventJSON.write(event, to: &out) }
            #expect(source.cache.bytes <= source.cache.capacityBytes)
        }
        return out
    }

    @Test func theCacheStaysUnderItsCapAndReadsDoNotDependOnIt() async throws {
        try await TestArchive.with(bytesPerSnapshot: 48 * 1024) { fixture in
            try await fixture.append(Self.eventCount)
            var options = FlushOptions(spoolDirectory: fixture.directory, producer: "lode-archiver test")
            options.leaseTTLSeconds = 3_600
            let summary = try await Flusher(
                store: fixture.coordination, archive: try fixture.archive(), options: options
            )
            .run()
            let archive = try fixture.archive()
            let plan = try await archive.plan(to: .latest)
            #expect(plan.lastPosition == Int64(Self.eventCount))
            #expect(plan.count > 20, "\(plan.count) snapshots; \(summary)")
            let through = Int64(Self.eventCount)

            let watcher = CacheWatcher()
            let small = ColdEventSource(
                archive: archive, keys: fixture.coordination, cacheBytes: Self.smallCap, observer: watcher)
            let large = ColdEventSource(archive: archive, keys: fixture.coordination, cacheBytes: 1 << 30)
            let bounded = try await Self.transcript(small, through: through)
            let unbounded = try await Self.transcript(large, through: through)
            #expect(bounded == unbounded, "reads differ with a 1 MiB cache")
            #expect(bounded.count > Self.eventCount * 2 * 80)

            let counts = watcher.counts.withLock { $0 }
            #expect(counts.maxBytes > 0 && counts.maxBytes <= Self.smallCap, "\(counts)")
            #expect(small.cache.bytes <= Self.smallCap && small.cache.count > 0)
            // The second pass found evicted snapshots again: the cap was binding, not just large enough.
            #expect(counts.misses > plan.count, "\(counts), \(plan.count) snapshots")
            #expect(large.cache.bytes > Self.smallCap, "the large cache holds \(large.cache.bytes) bytes")
        }
    }
}
