import ArchiveFormat
import Testing

@testable import ArchiverCore

/// The flusher's per-stream partition cache starts over after ``PartitionSlots/maxStreams`` streams, so a pass
/// over millions of streams stays bounded; the stream numbers it hands out (which dedupe stream-filter
/// inserts) must still never name two streams.
@Suite struct PartitionSlotsTests {
    @Test func streamNumbersStayUniqueWhenTheCacheStartsOver() {
        var slots = PartitionSlots(partitioning: .categoryDay)
        let day: Int64 = 1_767_225_600_000_000_000
        func slot(_ name: String, at nanos: Int64 = day) -> (slot: Int, stream: Int) {
            var name = name
            return name.withUTF8 {
                let bytes = UnsafeRawBufferPointer($0)
                return slots.slot(stream: bytes, hash: StreamHash.fnv1a64(bytes: bytes), recordedAtNanos: nanos)
            }
        }
        let count = PartitionSlots.maxStreams + 1_000
        var numberOf: [String: Int] = [:]
        var streamOf: [Int: String] = [:]
        for i in 0..<count {
            let name = "\(i % 2 == 0 ? "account" : "order")-\(i)"
            let (partition, number) = slot(name)
            #expect(partition == i % 2, "two categories, one day: two slots")
            #expect(streamOf[number] == nil, "number \(number) names \(streamOf[number] ?? "") and \(name)")
            numberOf[name] = number
            streamOf[number] = name
        }
        // A stream seen before the start-over: same slot, a number that names it alone.
        let (again, number) = slot("account-0")
        #expect(again == 0)
        #expect(streamOf[number] == nil || streamOf[number] == "account-0")
        // A stream seen after it: the number it had.
        #expect(slot("order-\(count - 1)").stream == numberOf["order-\(count - 1)"])
        // The next day is a new slot for the same stream.
        #expect(slot("order-\(count - 1)", at: day + 86_400_000_000_000).slot == 2)
        #expect(slots.values == [["account", "2026-01-01"], ["order", "2026-01-01"], ["order", "2026-01-02"]])
    }
}
