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

    /// A format 1 flush killed after publishing a data object, then `format upgrade`, then the retry: the retry
    /// writes the pending snapshot in the format of the object already published (not format 2, which would
    /// differ from it), and the archive verifies and holds every event once.
    @Test(arguments: ["after-segment", "after-canonical-manifest"])
    func aFlushInterruptedBeforeAnUpgradeResumesInItsOwnFormat(crashPoint: String) async throws {
        try await withTemporaryDirectory { dir in
            try await CLI.ok(["init"], in: dir)
            try await CLI.ok(["append"], in: dir, input: FormatV2Tests.twoCategoryEvents(200))
            try await CLI.ok(["flush", "--target-size", "16KiB", "--archive-format", "1", "--quiet"], in: dir)
            try await CLI.ok(["append"], in: dir, input: FormatV2Tests.twoCategoryEvents(60, offset: 900))
            let killed = try await CLI.run(
                ["flush", "--quiet"], in: dir, environment: ["ARCHIVER_CRASH_POINT": crashPoint])
            #expect(killed.signaled && killed.status == SIGKILL, "\(killed.stderr)")

            try await CLI.ok(["format", "upgrade", "--quiet"], in: dir)
            let resumed = try await CLI.run(["flush"], in: dir)
            #expect(resumed.status == 0, "\(resumed.stdout)\(resumed.stderr)")
            let formats = try FormatV2Tests.manifestMetadata(dir).map { $0["archiver.format"] as? String ?? "" }
            #expect(formats.allSatisfy { $0 == "1" }, "\(formats)")
            let positions = try Self.records(dir, dataset: "events").map {
                try #require(JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any])["position"] as! Int
            }
            #expect(positions.sorted() == Array(1...260), "each event archived once")
            let verify = try await CLI.run(["verify"], in: dir)
            #expect(verify.status == 0 && verify.stdout.hasPrefix("verify OK"), "\(verify.stdout)\(verify.stderr)")

            // The next snapshot joins the upgraded history's format.
            try await CLI.ok(["append"], in: dir, input: FormatV2Tests.twoCategoryEvents(10, offset: 2_000))
            try await CLI.ok(["flush", "--quiet"], in: dir)
            let after = try FormatV2Tests.manifestMetadata(dir).map { $0["archiver.format"] as? String ?? "" }
            #expect(after.last == "2", "\(after)")
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
