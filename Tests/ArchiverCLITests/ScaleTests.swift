import Foundation
import Testing

/// Sharded replay, catalog checkpoints and selective reads through the real binary.
@Suite struct ScaleTests {
    static let projector = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("Fixtures/balance_projector.py").path

    /// An archive of many small snapshots with a catalog checkpoint every 3.
    func makeArchive(in dir: String, events: Int = 600) async throws {
        try await CLI.ok(["init"], in: dir)
        try await CLI.ok(["append"], in: dir, input: bankEvents(events: events, accounts: 40, seed: 21))
        let out = try await CLI.ok(
            ["flush", "--target-size", "4KiB"], in: dir, environment: ["ARCHIVER_CHECKPOINT_EVERY": "3"])
        #expect(out.contains("catalog checkpoint"), "\(out)")
    }

    func sortedLines(_ text: String) -> [Substring] {
        text.split(separator: "\n").sorted()
    }

    @Test func shardsOfOneThreeAndEightCombineIntoOneReplay() async throws {
        try await withTemporaryDirectory { dir in
            try await makeArchive(in: dir)
            for projection in [["--projection", "sum:amount"], ["--exec", "python3 \(Self.projector)"]] {
                let full = try await CLI.ok(["replay", "--quiet"] + projection, in: dir)
                #expect(sortedLines(full).count == 40)
                for n in [1, 3, 8] {
                    var combined = ""
                    for i in 0..<n {
                        combined += try await CLI.ok(
                            ["replay", "--quiet", "--shard", "\(i)/\(n)"] + projection, in: dir)
                    }
                    #expect(sortedLines(combined) == sortedLines(full), "N = \(n), \(projection)")
                }
            }
            for bad in ["3/3", "0/0", "-1/2", "1", "a/b"] {
                let result = try await CLI.run(["replay", "--shard", bad], in: dir)
                #expect(result.status == 64, "--shard \(bad): \(result.status) \(result.stderr)")
                #expect(result.stderr.contains("shard"), "\(result.stderr)")
            }
        }
    }

    @Test func replayReportsThePlanAndTheSegmentsItRead() async throws {
        try await withTemporaryDirectory { dir in
            try await makeArchive(in: dir)
            let all = try await CLI.run(["replay", "--output", "all.jsonl"], in: dir)
            #expect(all.status == 0)
            #expect(all.stderr.contains("planned from catalog checkpoint"), "\(all.stderr)")
            let one = try await CLI.run(["replay", "--stream", "account-7", "--output", "one.jsonl"], in: dir)
            #expect(one.status == 0)
            func filesRead(_ stderr: String) throws -> (Int, Int) {
                let match = try #require(stderr.firstMatch(of: /read (\d+) of (\d+) segment files/))
                return (Int(match.1)!, Int(match.2)!)
            }
            let (allRead, total) = try filesRead(all.stderr)
            let (oneRead, oneTotal) = try filesRead(one.stderr)
            #expect(allRead == total && oneTotal == total)
            #expect(oneRead * 3 < total, "\(one.stderr)")
            let rows = try jsonLines(try String(contentsOfFile: dir + "/one.jsonl", encoding: .utf8))
            let expected = try jsonLines(try String(contentsOfFile: dir + "/all.jsonl", encoding: .utf8))
                .filter { $0["stream"] as? String == "account-7" }
            #expect(rows.count == 1 && expected.count == 1)
            #expect(rows.first?["version"] as? Int == expected.first?["version"] as? Int)
            // cut list reads through the catalog too, and verify checks the checkpoint against the manifests.
            let cuts = try await CLI.ok(["cut", "list", "--all"], in: dir)
            #expect(cuts.split(separator: "\n").count > 10)
            let verify = try await CLI.ok(["verify"], in: dir)
            #expect(verify.contains("verify OK"))
            let rebuilt = try await CLI.ok(["catalog", "rebuild"], in: dir)
            #expect(rebuilt.contains("rebuilt catalog checkpoint"))
            let show = try await CLI.ok(["catalog", "show"], in: dir)
            #expect(show.contains("1 part(s)"), "\(show)")
            #expect(try await CLI.ok(["cut", "list", "--all"], in: dir) == cuts)
        }
    }

    /// A flusher killed (SIGKILL) between publishing a checkpoint part and committing its catalog manifest
    /// leaves the archive and its readers as they were; the next flush writes the checkpoint.
    @Test func flushKilledMidCheckpointLeavesReadsIntact() async throws {
        try await withTemporaryDirectory { dir in
            try await CLI.ok(["init"], in: dir)
            try await CLI.ok(["append"], in: dir, input: bankEvents(events: 300, accounts: 20, seed: 3))
            let killed = try await CLI.run(
                ["flush", "--target-size", "4KiB", "--checkpoint-every", "2", "--quiet"], in: dir,
                environment: ["ARCHIVER_CRASH_POINT": "catalog-before-manifest"])
            #expect(killed.signaled && killed.status == SIGKILL)
            let show = try await CLI.ok(["catalog", "show"], in: dir)
            #expect(show.contains("no catalog checkpoint yet"), "\(show)")
            // The part is there, no manifest lists it, and nothing reads it.
            let parts = try FileManager.default.subpathsOfDirectory(atPath: dir + "/archive/datasets/catalog")
                .filter { $0.hasSuffix(".zst") }
            #expect(parts.count == 1)
            let replay = try await CLI.run(["replay", "--projection", "sum:amount", "--output", "sums.jsonl"], in: dir)
            #expect(replay.status == 0, "\(replay.stderr)")
            #expect(replay.stderr.contains("planned from chain walk"), "\(replay.stderr)")
            #expect(try await CLI.ok(["verify"], in: dir).contains("verify OK"))

            try await CLI.ok(["append"], in: dir, input: bankEvents(events: 100, accounts: 20, seed: 4))
            let flush = try await CLI.ok(["flush", "--target-size", "4KiB", "--checkpoint-every", "2"], in: dir)
            #expect(flush.contains("catalog checkpoint"), "\(flush)")
            let after = try await CLI.run(["replay", "--projection", "sum:amount", "--output", "sums2.jsonl"], in: dir)
            #expect(after.stderr.contains("planned from catalog checkpoint"), "\(after.stderr)")
            let total = try jsonLines(try String(contentsOfFile: dir + "/sums2.jsonl", encoding: .utf8))
                .reduce(0) { $0 + ($1["count"] as? Int ?? 0) }
            #expect(total == 400)
            #expect(try await CLI.ok(["verify"], in: dir).contains("verify OK"))
        }
    }
}
