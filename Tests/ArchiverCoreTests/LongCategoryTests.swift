import ArchiveFormat
import ArchiverCore
import Lode
import Testing

/// A stream whose category is long (or multibyte) is archived under a bounded partition directory, read back in
/// full, and still selected by stream and category filters.
@Suite struct LongCategoryTests {
    @Test func longCategoriesArchiveAndFilter() async throws {
        try await TestArchive.with { fixture in
            let long = String(repeating: "漢", count: 28)
            let ascii = String(repeating: "c", count: 120)
            try await fixture.append(20, streams: 4, categories: [long, ascii])
            let summary = try await fixture.flush(checkpointEvery: 0)
            #expect(summary.events == 20)
            let archive = try fixture.archive()
            let cuts = try await archive.cutPoints()
            let paths = cuts.flatMap { $0.manifest.files.map(\.path) }
            #expect(!paths.isEmpty)
            for path in paths {
                for segment in path.split(separator: "/") { #expect(segment.utf8.count <= 120, "\(segment)") }
                #expect(path.contains("~"))
            }
            let byStream = FileSelector(streams: ["\(long)-0"])
            let byCategory = FileSelector(categories: [ascii])
            let other = FileSelector(categories: ["account"])
            #expect(cuts.contains { !byStream.files(of: $0).isEmpty })
            #expect(cuts.contains { !byCategory.files(of: $0).isEmpty })
            #expect(cuts.allSatisfy { other.files(of: $0).isEmpty })
            let report = try await Verifier(archive: archive).run()
            #expect(report.isIntact, "\(report.problems)")
            #expect(report.events == 20)
        }
    }
}
