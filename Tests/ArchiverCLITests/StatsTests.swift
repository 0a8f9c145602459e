import Foundation
import Testing

/// `archiver stats` and the bytes/event of `verify`, on a real archive of real files.
@Suite struct StatsTests {
    /// The sizes of the files under `directory` whose path contains `/data/`.
    func dataFileSizes(_ directory: String) throws -> [Int64] {
        let files = FileManager.default.enumerator(atPath: directory)?.compactMap { $0 as? String } ?? []
        return try files.filter { $0.contains("/data/") }.map { path in
            let attributes = try FileManager.default.attributesOfItem(atPath: directory + "/" + path)
            return (attributes[.size] as! NSNumber).int64Value
        }
    }

    @Test func statsCountsTheFlushedFilesAndVerifyPrintsBytesPerEvent() async throws {
        try await withTemporaryDirectory { dir in
            try await CLI.ok(["init"], in: dir)
            for seed in 1...2 {
                try await CLI.ok(["append"], in: dir, input: bankEvents(events: 150, accounts: 10, seed: UInt64(seed)))
                try await CLI.ok(["flush", "--partitioning", "none", "--quiet"], in: dir)
            }
            let sizes = try dataFileSizes(dir + "/archive/datasets/events")
            let stored = sizes.reduce(0, +)
            #expect(sizes.count == 2)

            let lines = try await CLI.ok(["stats"], in: dir).split(separator: "\n").map { $0.split(separator: "\t") }
            #expect(
                lines.first?.joined(separator: " ") == "dataset snapshots files records stored_bytes "
                    + "bytes_per_record uncompressed_bytes ratio")
            let events = try #require(lines.first { $0.first == "events" }).map(String.init)
            #expect(Array(events[1...4]) == ["2", "2", "300", "\(stored)"])
            #expect(events[5] == String(format: "%.1f", Double(stored) / 300))
            let uncompressed = try #require(Int64(events[6]))
            #expect(uncompressed > stored && events[7] == String(format: "%.2f", Double(uncompressed) / Double(stored)))
            let total = try #require(lines.last).map(String.init)
            #expect(total[0] == "total" && total[3] == "300")

            let quick = try await CLI.ok(["stats", "--manifests-only"], in: dir)
            #expect(quick.contains("events\t2\t2\t300\t\(stored)\t\(events[5])\t-\t-\n"), "\(quick)")

            let verify = try await CLI.ok(["verify"], in: dir)
            #expect(verify.contains(String(format: "%.1f bytes/event", Double(stored) / 300)), "\(verify)")
        }
    }
}
