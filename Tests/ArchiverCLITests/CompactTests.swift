import Foundation
import Testing

/// `archiver compact` as a real process: killed with SIGKILL during the copy and just before the activation,
/// the old generation stays in use and results do not change; the next run removes the partial generation.
@Suite struct CompactTests {
    /// The replay rows and the verified totals (events, last position, chain head) of the archive in `dir`.
    static func results(
        _ dir: String, _ extra: [String] = [], environment: [String: String] = [:]
    ) async throws
        -> (replay: String, inside: String, verified: String)
    {
        let replay = try await CLI.ok(
            ["replay", "--to", "latest", "--projection", "sum:amount", "--quiet"] + extra, in: dir,
            environment: environment)
        let inside = try await CLI.ok(
            ["replay", "--to", "777", "--projection", "sum:amount", "--quiet"] + extra, in: dir,
            environment: environment)
        let verify = try await CLI.ok(["verify"] + extra, in: dir, environment: environment)
        #expect(verify.hasPrefix("verify OK"), "\(verify)")
        let totals = verify.firstMatch(of: /(\d+) events through position (\d+); chain head ([0-9a-f]{64})/)
        return (replay, inside, try #require(totals.map { String($0.output.0) }))
    }

    static func activePointer(_ dir: String) -> String? {
        try? String(contentsOfFile: dir + "/archive/datasets/generations/latest", encoding: .utf8)
    }

    @Test func killedCompactionsLeaveTheOldGenerationInUse() async throws {
        try await withTemporaryDirectory { dir in
            try await CLI.ok(["init"], in: dir)
            try await CLI.ok(["append"], in: dir, input: bankEvents(events: 1_500, accounts: 30, seed: 3))
            try await CLI.ok(["flush", "--target-size", "4KiB", "--quiet"], in: dir)
            let baseline = try await Self.results(dir)
            let compact = ["compact", "--target-size", "64KiB", "--quiet"]

            // Killed during the copy (first and third object) and after verification, before the activation.
            for (point, skip) in [("compact-mid-copy", 0), ("compact-mid-copy", 2), ("compact-before-activate", 0)] {
                let killed = try await CLI.run(
                    compact, in: dir, environment: ["ARCHIVER_CRASH_POINT": point, "ARCHIVER_CRASH_SKIP": String(skip)])
                #expect(killed.signaled && killed.status == SIGKILL, "\(point): \(killed.stderr)")
                #expect(Self.activePointer(dir) == nil, "\(point) activated a generation")
                let after = try await Self.results(dir)
                #expect(after.replay == baseline.replay && after.inside == baseline.inside)
                #expect(after.verified == baseline.verified)
                let verify = try await CLI.ok(["verify"], in: dir)
                #expect(verify.contains("orphaned object"), "the partial generation is listed: \(verify)")
            }
            let compacted = try await CLI.ok(compact, in: dir)
            #expect(compacted.contains("removed events-gen"), "\(compacted)")
            #expect(compacted.contains("compacted") && compacted.contains("into events-gen4"), "\(compacted)")
            let first = try #require(Self.activePointer(dir))
            let afterCompaction = try await Self.results(dir)
            #expect(afterCompaction.replay == baseline.replay && afterCompaction.inside == baseline.inside)
            #expect(afterCompaction.verified == baseline.verified)
            #expect(!(try await CLI.ok(["verify"], in: dir)).contains("orphan"))

            // With a generation active, more events, and a compaction killed before activating the next one:
            // the active generation stays the same and still serves the reads.
            try await CLI.ok(["append"], in: dir, input: bankEvents(events: 300, accounts: 30, seed: 4))
            try await CLI.ok(["flush", "--target-size", "4KiB", "--quiet"], in: dir)
            let grown = try await Self.results(dir)
            let killed = try await CLI.run(
                compact, in: dir, environment: ["ARCHIVER_CRASH_POINT": "compact-before-activate"])
            #expect(killed.signaled)
            #expect(Self.activePointer(dir) == first)
            #expect(try await Self.results(dir) == grown)

            try await CLI.ok(compact, in: dir)
            #expect(Self.activePointer(dir) != first)
            let retired = try await CLI.ok(["compact", "--retire", "--retention", "0d"], in: dir)
            #expect(retired.hasPrefix("retired "), "\(retired)")
            #expect(try await Self.results(dir) == grown)
            let originalData = try FileManager.default.subpathsOfDirectory(atPath: dir + "/archive/datasets/events")
                .filter { $0.hasSuffix(".zst") }
            #expect(originalData.isEmpty, "\(originalData.prefix(3))")
        }
    }

    @Test func retireRefusesWithAClearLineWhenAGenerationObjectIsDamaged() async throws {
        try await withTemporaryDirectory { dir in
            try await CLI.ok(["init"], in: dir)
            try await CLI.ok(["append"], in: dir, input: bankEvents(events: 400, accounts: 10, seed: 8))
            try await CLI.ok(["flush", "--target-size", "4KiB", "--quiet"], in: dir)
            let none = try await CLI.run(["compact", "--retire"], in: dir)
            #expect(none.status == 1 && none.stderr.contains("no compacted generation is active"), "\(none.stderr)")
            try await CLI.ok(["compact", "--quiet"], in: dir)
            let generation = dir + "/archive/datasets/events-gen1"
            let victim = try #require(
                try FileManager.default.subpathsOfDirectory(atPath: generation).first { $0.hasSuffix(".zst") })
            var bytes = try Data(contentsOf: URL(fileURLWithPath: generation + "/" + victim))
            bytes[bytes.count / 2] ^= 0x01
            try bytes.write(to: URL(fileURLWithPath: generation + "/" + victim))
            let refused = try await CLI.run(["compact", "--retire"], in: dir)
            #expect(refused.status == 1, "\(refused.stdout) \(refused.stderr)")
            let lines = refused.stderr.split(separator: "\n")
            #expect(
                lines.count == 1 && lines[0].contains("does not verify, so nothing was deleted"), "\(refused.stderr)")
            #expect(lines.first?.contains(victim) == true)
            let data = try FileManager.default.subpathsOfDirectory(atPath: dir + "/archive/datasets/events")
            #expect(data.filter { $0.hasSuffix(".zst") }.count > 10)
            let verify = try await CLI.run(["verify"], in: dir)
            #expect(verify.status == 10)
        }
    }
}
