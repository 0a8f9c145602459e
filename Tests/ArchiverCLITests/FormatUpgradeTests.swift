import Foundation
import Testing

/// `archiver format upgrade`: a format 1 archive's history rewritten in format 2 as a compaction generation, the
/// original manifests untouched, and new snapshots written in format 2 from then on.
@Suite struct FormatUpgradeTests {
    /// The records of one dataset's data files, decompressed with the zstd tool, sorted.
    static func records(_ dir: String, dataset: String) throws -> [String] {
        try Tamperer(dir: dir).sh("find archive/datasets/\(dataset) -name 'data*.zst' -print0 | xargs -0 zstdcat")
            .split(separator: "\n").map(String.init).sorted()
    }

    @Test func aV1ArchiveUpgradesAsAGenerationAndFlushesOnInFormat2() async throws {
        try await withTemporaryDirectory { root in
            let (a, b) = try await FormatV2Tests.twinArchives(root)
            let before = try await CompactTests.results(a)
            let manifestsBefore = try FormatV2Tests.manifestMetadata(a).map { $0 as NSDictionary }

            let dry = try await CLI.ok(["format", "upgrade", "--dry-run"], in: a)
            #expect(dry.hasPrefix("would compact") && dry.contains("in record format 2"), "\(dry)")
            #expect(!FileManager.default.fileExists(atPath: a + "/archive/datasets/events-gen1"))

            let upgraded = try await CLI.ok(["format", "upgrade", "--quiet"], in: a)
            #expect(upgraded.contains("into events-gen1 in record format 2"), "\(upgraded)")
            // The generation holds exactly the records the format 2 twin was flushed with.
            #expect(try Self.records(a, dataset: "events-gen1") == FormatV2Tests.storedRecords(b))
            #expect(try FormatV2Tests.manifestMetadata(a).map { $0 as NSDictionary } == manifestsBefore)
            let after = try await CompactTests.results(a)
            #expect(after.replay == before.replay && after.inside == before.inside && after.verified == before.verified)

            // New snapshots follow the upgraded history's format.
            try await CLI.ok(["append"], in: a, input: FormatV2Tests.twoCategoryEvents(60, offset: 900))
            try await CLI.ok(["flush", "--quiet"], in: a)
            let formats = try FormatV2Tests.manifestMetadata(a).map { $0["archiver.format"] as? String ?? "" }
            #expect(formats.last == "2" && formats.dropLast().allSatisfy { $0 == "1" }, "\(formats)")
            let again = try await CLI.ok(["format", "upgrade"], in: a)
            #expect(again.contains("already in record format 2: nothing to do"), "\(again)")

            // Retiring the format 1 files leaves an archive that reads and verifies as before, without a hash member.
            let grown = try await CompactTests.results(a)
            try await CLI.ok(["compact", "--retire"], in: a)
            #expect(try await CompactTests.results(a) == grown)
            let stored = try Tamperer(dir: a).sh("find archive -name 'data*.zst' -print0 | xargs -0 zstdcat")
            #expect(stored.split(separator: "\n").count == 960 && !stored.contains(#""hash":"#))
            try await CLI.ok(["prune", "--before", "latest", "--without-drill"], in: a)
            #expect(
                try await CLI.ok(["read", "--all", "--limit", "100000"], in: a).split(separator: "\n").count == 960)
        }
    }

    /// An archive created in format 2 has nothing to upgrade, and the command writes nothing.
    @Test func aFormat2ArchiveHasNothingToUpgrade() async throws {
        try await withTemporaryDirectory { dir in
            try await CLI.ok(["init"], in: dir)
            try await CLI.ok(["append"], in: dir, input: FormatV2Tests.twoCategoryEvents(40))
            try await CLI.ok(["flush", "--quiet"], in: dir)
            let said = try await CLI.ok(["format", "upgrade"], in: dir)
            #expect(said.contains("already in record format 2: nothing to do"), "\(said)")
            #expect(!FileManager.default.fileExists(atPath: dir + "/archive/datasets/events-gen1"))
        }
    }
}
