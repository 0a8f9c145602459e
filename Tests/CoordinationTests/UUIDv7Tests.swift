import Foundation
import TestSupport
import Testing

@testable import Coordination

@Suite struct UUIDv7Tests {
    /// Generated ids are version-7 UUIDs in lowercase text that Foundation parses back, with the time of now.
    @Test func idsAreVersionSevenWithTheCurrentTime() throws {
        let before = UInt64(Date().timeIntervalSince1970 * 1000)
        let ids = (0..<2_000).map { _ in UUIDv7.next() }
        let after = UInt64(Date().timeIntervalSince1970 * 1000)
        for id in ids {
            let bytes = Array(id.utf8)
            #expect(bytes.count == 36)
            #expect(id == id.lowercased())
            let uuid = try #require(UUID(uuidString: id))
            #expect(uuid.uuidString.lowercased() == id)
            #expect(uuid.uuid.6 >> 4 == 7, "version nibble of \(id)")
            #expect(uuid.uuid.8 >> 6 == 0b10, "variant bits of \(id)")
            let millis = try #require(UInt64(id.prefix(8) + id.dropFirst(9).prefix(4), radix: 16))
            // A burst of over 2048 ids in one millisecond may carry the timestamp a little ahead.
            #expect(millis >= before && millis <= after + 5, "time field of \(id): \(millis) not in \(before)…\(after)")
        }
    }

    /// Ids made one after another sort (as text and as bytes) in the order they were made, and never repeat.
    @Test func idsIncreaseAndAreUniqueOverAMillion() {
        var previous = UUIDv7.next()
        var seen = Set<String>(minimumCapacity: 1_000_000)
        var outOfOrder = 0
        for _ in 0..<1_000_000 {
            let id = UUIDv7.next()
            if id <= previous { outOfOrder += 1 }
            seen.insert(id)
            previous = id
        }
        #expect(outOfOrder == 0)
        #expect(seen.count == 1_000_000)
    }

    /// The counter counts within a millisecond, carries into the next one on overflow, and holds the last
    /// timestamp when the wall clock steps back; a millisecond's ids share its random bits, a new one draws anew.
    @Test func clockCountsCarriesAndNeverGoesBack() {
        let clock = UUIDv7.Clock(millis: 1_000, counter: 5, random: 7)
        #expect(clock.advanced(now: 1_001, seed: 42, random: 9) == UUIDv7.Clock(millis: 1_001, counter: 42, random: 9))
        #expect(clock.advanced(now: 1_000, seed: 42, random: 9) == UUIDv7.Clock(millis: 1_000, counter: 6, random: 7))
        #expect(clock.advanced(now: 900, seed: 42, random: 9) == UUIDv7.Clock(millis: 1_000, counter: 6, random: 7))
        let full = UUIDv7.Clock(millis: 1_000, counter: 0xFFF, random: 7)
        #expect(full.advanced(now: 1_000, seed: 42, random: 9) == UUIDv7.Clock(millis: 1_001, counter: 42, random: 9))
    }

    /// The bit layout of RFC 9562 §5.7, on fixed inputs: timestamp, version, counter, variant, random.
    @Test func textHasTheRFCLayout() {
        let clock = UUIDv7.Clock(millis: 0x0190_1234_5678, counter: 0xABC, random: .max)
        #expect(UUIDv7.text(clock: clock) == "01901234-5678-7abc-bfff-ffffffffffff")
        #expect(
            UUIDv7.text(clock: UUIDv7.Clock(millis: 0x0190_1234_5678, counter: 0xABC))
                == "01901234-5678-7abc-8000-000000000000")
    }

    /// Ids of one millisecond share their random bits (the archive stores them once per batch); ids of different
    /// milliseconds do not, and no two ids of a burst are equal.
    @Test func aMillisecondsIdsShareTheirRandomBits() {
        let ids = (0..<5_000).map { _ in UUIDv7.next() }
        let byMillisecond = Dictionary(grouping: ids) { $0.prefix(13) }
        for (_, group) in byMillisecond { #expect(Set(group.map { $0.suffix(17) }).count == 1, "\(group.prefix(3))") }
        let randoms = Set(byMillisecond.values.map { $0[0].suffix(17) })
        #expect(randoms.count == byMillisecond.count, "each millisecond draws its own random bits")
        #expect(Set(ids).count == ids.count)
    }

    /// Python's `uuid` module (an independent reader) sees version 7, RFC 4122 variant and the same timestamp.
    @Test(.enabled(if: FileManager.default.isExecutableFile(atPath: "/usr/bin/python3")))
    func pythonReadsTheIds() async throws {
        let ids = (0..<100).map { _ in UUIDv7.next() }
        let script = """
            import sys, uuid
            for line in sys.stdin:
                u = uuid.UUID(line.strip())
                assert str(u) == line.strip() and u.version == 7 and u.variant == uuid.RFC_4122, line
                print(u.int >> 80)
            """
        let printed = String(
            decoding: try await runPython(["-c", script], stdin: Array(ids.joined(separator: "\n").utf8)), as: UTF8.self
        )
        let expected = ids.map { String(UInt64($0.prefix(8) + $0.dropFirst(9).prefix(4), radix: 16)!) }
        #expect(printed.split(separator: "\n").map(String.init) == expected)
    }
}
