import ArchiveFormat
import ArchiverCore
import Coordination
import CoordinationSQLite
import Foundation
import Lode
import Synchronization
import Testing

/// The tiered reader over one store in four states: what every read returns is the same whichever tier holds
/// the events.
@Suite struct ReadThroughTests {
    enum StoreState: String, CaseIterable, Sendable {
        case nothingPruned, fullyPruned, prunedMidway, prunedAndCompacted
    }

    static let eventCount = 240

    /// Every read the conformance compares, rendered by the one renderer: global pages, stream pages, category
    /// pages, each paged in small steps so that pages cross the pruned boundary.
    static func transcript(_ reader: TieredEventReader) async throws -> [String: [UInt8]] {
        var out: [String: [UInt8]] = [:]
        var position: Int64 = 0
        var all: [UInt8] = []
        while true {
            let page = try await reader.readAll(after: position, limit: 7)
            guard let last = page.events.last else { break }
            for event in page.events { EventJSON.write(event, to: &all) }
            all.append(UInt8(ascii: "\n"))
            position = last.position
        }
        out["all"] = all
        for stream in ["account-0", "order-7", "invoice-44"] {
            var bytes: [UInt8] = []
            var version: Int64 = 1
            while true {
                let page = try await reader.readStream(stream, fromVersion: version, limit: 2)
                guard let last = page.events.last else { break }
                for event in page.events { EventJSON.write(event, to: &bytes) }
                bytes.append(UInt8(ascii: "\n"))
                version = last.version + 1
            }
            out[stream] = bytes
        }
        var category: [UInt8] = []
        position = 0
        while true {
            let page = try await reader.readCategory("order", after: position, limit: 5)
            for event in page.events { EventJSON.write(event, to: &category) }
            category.append(UInt8(ascii: "\n"))
            if page.events.isEmpty { break }
            position = page.scannedThrough
        }
        out["category"] = category
        return out
    }

    /// 240 events flushed as 240 snapshots (a catalog checkpoint every 50).
    static func fill(_ fixture: TestArchive) async throws {
        try await fixture.append(eventCount)
        try await fixture.flush(checkpointEvery: 50)
    }

    /// Puts the filled store in `state`: pruned (and compacted) as it says; returns the pruned position.
    static func prepare(_ state: StoreState, _ fixture: TestArchive) async throws -> Int64 {
        let archive = try fixture.archive()
        let pruner = Pruner(archive: archive, store: fixture.coordination)
        switch state {
        case .nothingPruned:
            break
        case .fullyPruned:
            _ = try await pruner.run(before: .latest)
        case .prunedMidway:
            _ = try await pruner.run(before: .position(133))
        case .prunedAndCompacted:
            _ = try await pruner.run(before: .position(201))
            var options = CompactionOptions(producer: "test", spoolDirectory: fixture.directory)
            options.targetBytes = 16 * 1024
            let compactor = Compactor(archive: archive, store: fixture.coordination)
            _ = try await compactor.run(options)
            _ = try await compactor.retire(options, retentionSeconds: 0)
        }
        return try await fixture.coordination.prunedThrough()
    }

    @Test(arguments: StoreState.allCases)
    func everyReadIsTheSameInEveryState(_ state: StoreState) async throws {
        try await TestArchive.with { fixture in
            try await Self.fill(fixture)
            let reference = try await Self.transcript(TieredEventReader(store: fixture.coordination, cold: nil))
            let pruned = try await Self.prepare(state, fixture)
            #expect((state == .nothingPruned) == (pruned == 0))
            let cold = ColdEventSource(archive: try fixture.archive(), keys: fixture.coordination)
            let reader = TieredEventReader(store: fixture.coordination, cold: cold)
            let got = try await Self.transcript(reader)
            #expect(got.keys.sorted() == reference.keys.sorted())
            for (key, bytes) in reference {
                let same = got[key] == bytes
                #expect(
                    same, "\(state): \(key) differs: \(String(decoding: got[key] ?? [], as: UTF8.self).prefix(300))")
            }
            #expect((reference["all"]?.count ?? 0) > Self.eventCount * 100)
            let first = try await reader.readAll(after: 0, limit: 10)
            #expect(first.tier == (state == .nothingPruned ? .store : .archive))
            if pruned > 0 && state != .fullyPruned {
                let across = try await reader.readAll(after: pruned - 3, limit: 6)
                #expect(across.tier == .mixed && across.events.map(\.position) == Array((pruned - 2)...(pruned + 3)))
            }
        }
    }

    /// Without an archive a pruned range is still the store's `.prunedRange` error.
    @Test func withoutAnArchiveAPrunedRangeIsGone() async throws {
        try await TestArchive.with { fixture in
            try await Self.fill(fixture)
            _ = try await Self.prepare(.prunedMidway, fixture)
            let reader = TieredEventReader(store: fixture.coordination, cold: nil)
            await #expect(throws: CoordinationError.self) { _ = try await reader.readAll(after: 0, limit: 5) }
            let above = try await reader.readAll(after: 200, limit: 5)
            #expect(above.events.map(\.position) == [201, 202, 203, 204, 205] && above.tier == .store)
        }
    }

    /// A pruned range the archive does not hold (another archive) is a loud integrity error, not an empty page.
    @Test func aPrunedRangeMissingFromTheArchiveIsAnIntegrityError() async throws {
        try await TestArchive.with { fixture in
            try await Self.fill(fixture)
            _ = try await Self.prepare(.fullyPruned, fixture)
            let empty = try Archive(store: MemoryStore(), settings: fixture.settings)
            let reader = TieredEventReader(
                store: fixture.coordination, cold: ColdEventSource(archive: empty, keys: nil))
            let error = await #expect(throws: ArchiverError.self) { _ = try await reader.readAll(after: 0, limit: 5) }
            #expect(error?.code == .tampered && error?.message.contains("archive integrity") == true)
            await #expect(throws: ArchiverError.self) {
                _ = try await reader.readStream("order-7", fromVersion: 1, limit: 5)
            }
        }
    }

    /// An altered data object gives an error naming it; no event of it is returned.
    @Test func aTamperedObjectIsAReadErrorNamingIt() async throws {
        try await TestArchive.with { fixture in
            try await Self.fill(fixture)
            _ = try await Self.prepare(.fullyPruned, fixture)
            let objects = try await fixture.memory.list(prefix: "datasets/events/")
            let victim = try #require(objects.first { $0.key.hasSuffix(".zst") }).key
            var bytes = try await fixture.memory.get(victim)
            bytes[bytes.count / 2] ^= 0x01
            // Objects are create-only: replace it the way someone with write access to the bucket would.
            try await fixture.memory.delete(victim)
            try await fixture.memory.put(victim, bytes)
            let reader = TieredEventReader(
                store: fixture.coordination,
                cold: ColdEventSource(archive: try fixture.archive(), keys: fixture.coordination))
            do {
                let page = try await reader.readAll(after: 0, limit: Self.eventCount)
                Issue.record("read \(page.events.count) events from a tampered archive")
            } catch {
                #expect("\(error)".contains(victim.split(separator: "/").last!), "\(error)")
            }
        }
    }

    /// A subscription from position 0 while a writer appends and flush and prune run in a loop: every event
    /// arrives exactly once and in order, across boundaries that move under the reader.
    @Test func subscriptionFromZeroSeesEveryEventOnceWhileFlushAndPruneRun() async throws {
        try await TestArchive.with(bytesPerSnapshot: 4 * 1024) { fixture in
            let total = 600
            let archive = try fixture.archive()
            let fixture = fixture
            let reader = TieredEventReader(
                store: fixture.coordination, cold: ColdEventSource(archive: archive, keys: fixture.coordination))
            let done = Atomic<Bool>(false)
            async let writer: Void = {
                for batch in 0..<12 {
                    try await fixture.append(50, from: batch * 50)
                    try await Task.sleep(for: .milliseconds(15))
                }
            }()
            async let maintenance: Int = {
                var prunes = 0
                while !done.load(ordering: .relaxed) {
                    try await fixture.flush(checkpointEvery: 4)
                    if (try? await Pruner(archive: archive, store: fixture.coordination).run(before: .latest)) != nil {
                        prunes += 1
                    }
                }
                return prunes
            }()
            var positions: [Int64] = []
            var tiers: Set<ReadTier> = []
            let deadline = ContinuousClock.now + .seconds(120)
            do {
                // Start once something is pruned, so the first pages must come from the archive whatever the
                // scheduling; later pages move between the tiers as prune overtakes the slow reader.
                while try await fixture.coordination.prunedThrough() == 0 && ContinuousClock.now < deadline {
                    try await Task.sleep(for: .milliseconds(5))
                }
                while positions.count < total && ContinuousClock.now < deadline {
                    let page = try await reader.readAll(after: positions.last ?? 0, limit: 13)
                    positions += page.events.map(\.position)
                    if !page.events.isEmpty { tiers.insert(page.tier) }
                    // A slow consumer: prune overtakes it, so its pages move between the tiers.
                    try await Task.sleep(for: .milliseconds(page.events.isEmpty ? 5 : 25))
                }
            } catch {
                done.store(true, ordering: .relaxed)
                throw error
            }
            try await writer
            // Let the loop prune past where the reader is, then read the rest: the tail comes from the archive.
            try await Task.sleep(for: .milliseconds(200))
            done.store(true, ordering: .relaxed)
            let prunes = try await maintenance
            #expect(positions == Array(1...Int64(total)))
            let prunedThrough = try await fixture.coordination.prunedThrough()
            #expect(prunes > 0 && prunedThrough > 0)
            #expect(tiers.contains(.archive) || tiers.contains(.mixed), "\(tiers)")
            let replay = try await reader.readAll(after: 0, limit: total + 10)
            #expect(replay.events.map(\.position) == positions)
            print("subscription from 0: \(prunes) prunes while reading; tiers \(tiers.map(\.rawValue).sorted())")
        }
    }
}
