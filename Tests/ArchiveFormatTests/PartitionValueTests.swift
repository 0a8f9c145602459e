import ArchiveFormat
import Lode
import Testing

/// Partition values become directory names: their encoded form must stay far below the 255-byte file name limit
/// whatever the stream name, and a bounded value must still be recognisable as its category.
@Suite struct PartitionValueTests {
    static let cases: [(name: String, value: String)] = [
        ("ascii 247", String(repeating: "a", count: 247)),
        ("cjk 28", String(repeating: "漢", count: 28)),
        ("cjk 200", String(repeating: "漢", count: 200)),
        ("emoji", String(repeating: "👩‍👩‍👧", count: 20)),
        ("spaces", String(repeating: "a b/c", count: 40)),
    ]

    @Test(arguments: cases.map(\.value)) func longValuesAreBoundedStableAndReadable(_ value: String) {
        let bounded = ArchivePartitioning.boundedValue(value)
        let encoded = LodeLayout.escapePartitionValue(bounded)
        #expect(encoded.utf8.count <= ArchivePartitioning.maxEncodedValueBytes, "\(encoded)")
        #expect(bounded != value)
        // A readable prefix of the value, then `~` and 16 hex digits.
        let parts = bounded.split(separator: "~")
        #expect(parts.count == 2 && value.hasPrefix(parts[0]) && !parts[0].isEmpty)
        #expect(parts[1].count == 16 && parts[1].allSatisfy(\.isHexDigit))
        #expect(ArchivePartitioning.boundedValue(value) == bounded, "stable")
        #expect(ArchivePartitioning.partitionValue(bounded, names: value))
        #expect(ArchivePartitioning.partitionValue(value, names: value), "archives written before bounding")
        #expect(!ArchivePartitioning.partitionValue(bounded, names: value + "x"))
    }

    @Test func shortValuesAreUnchanged() {
        for value in ["account", "order", "漢字", String(repeating: "a", count: 100)] {
            #expect(ArchivePartitioning.boundedValue(value) == value)
        }
        // 101 plain bytes: bounded; two values differing only after the prefix stay distinct.
        let a = ArchivePartitioning.boundedValue(String(repeating: "a", count: 101))
        let b = ArchivePartitioning.boundedValue(String(repeating: "a", count: 100) + "b")
        #expect(a != b && a.hasPrefix(String(repeating: "a", count: 83)))
    }

    @Test func categoryDayValuesUseTheBoundedCategory() {
        let stream = String(repeating: "漢", count: 28) + "-42"
        let values = ArchivePartitioning.categoryDay.values(stream: stream, recordedAtNanos: 0)
        #expect(values == [ArchivePartitioning.boundedValue(String(repeating: "漢", count: 28)), "1970-01-01"])
        #expect(LodeLayout.partitionPath([(key: "category", value: values[0])]).utf8.count < 120)
    }
}
