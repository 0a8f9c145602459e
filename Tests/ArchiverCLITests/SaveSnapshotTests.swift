import Foundation
import Testing

/// `replay --save-snapshot`: refused with a clear line for `--exec`, and written once per cut.
@Suite struct SaveSnapshotTests {
    func archive(in dir: String) async throws {
        try await CLI.ok(["init"], in: dir)
        try await CLI.ok(["append"], in: dir, input: bankEvents(events: 300, accounts: 12, seed: 5))
        try await CLI.ok(["flush", "--cut", "day-1", "--quiet"], in: dir)
    }

    @Test func savingTwiceAtOneCutWritesOneSnapshot() async throws {
        try await withTemporaryDirectory { dir in
            try await archive(in: dir)
            let args = [
                "replay", "--to", "day-1", "--projection", "sum:amount", "--save-snapshot", "--output", "a.jsonl",
            ]
            let first = try await CLI.run(args, in: dir)
            #expect(first.status == 0 && first.stderr.contains("saved aggregate snapshot"), "\(first.stderr)")
            let second = try await CLI.run(args, in: dir)
            #expect(second.status == 0, "\(second.stderr)")
            #expect(second.stderr.contains("already holds this cut: not saved again"), "\(second.stderr)")
            #expect(!second.stderr.contains("saved aggregate snapshot"))
            let listed = try await CLI.ok(["lode", "snapshots", "archive/aggregates"], in: dir)
            #expect(listed.split(separator: "\n").count == 2, "one header and one snapshot:\n\(listed)")
        }
    }

    @Test func saveSnapshotWithExecSaysWhichProjectionsWork() async throws {
        try await withTemporaryDirectory { dir in
            try await archive(in: dir)
            let result = try await CLI.run(["replay", "--to", "day-1", "--exec", "cat", "--save-snapshot"], in: dir)
            #expect(result.status == 64)
            #expect(
                result.stderr
                    == "error: --save-snapshot works with the built-in projections only (fold, sum:FIELD), not --exec: "
                    + "drop --save-snapshot (an --exec projector keeps its own state)\n", "\(result.stderr)")
            #expect(!FileManager.default.fileExists(atPath: dir + "/archive/aggregates"))
        }
    }
}
