import Foundation
import Testing

@Suite struct ReplayAndPruneTests {
    static let projector = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("Fixtures/balance_projector.py").path

    @Test func execProjectorInPython() async throws {
        try await withTemporaryDirectory { dir in
            try await CLI.ok(["init"], in: dir)
            try await CLI.ok(["append"], in: dir, input: bankEvents(events: 500, accounts: 7, seed: 5))
            try await CLI.ok(["flush", "--quiet"], in: dir)
            let out = try await CLI.ok(
                ["replay", "--to", "latest", "--exec", "python3 \(Self.projector)", "--quiet"], in: dir)
            let rows = try jsonLines(out)
            var expected: [String: Int] = [:]
            for e in try await hotEvents(in: dir) {
                expected[e["stream"] as! String, default: 0] += (e["data"] as! [String: Any])["amount"] as! Int
            }
            #expect(rows.count == expected.count)
            for row in rows { #expect(row["balance"] as? Int == expected[row["stream"] as! String]) }
        }
    }

    @Test func failingProjectorFailsTheReplayWithItsMessage() async throws {
        try await withTemporaryDirectory { dir in
            try await CLI.ok(["init"], in: dir)
            try await CLI.ok(["append"], in: dir, input: bankEvents(events: 50, accounts: 3, seed: 6))
            try await CLI.ok(
                ["append", "--stream", "account-1", "--type", "Broken", "--data", #"{"fail":true}"#], in: dir)
            try await CLI.ok(["flush", "--quiet"], in: dir)
            let result = try await CLI.run(
                ["replay", "--to", "latest", "--exec", "python3 \(Self.projector)", "--output", "out.jsonl"], in: dir)
            #expect(result.status != 0)
            #expect(result.stderr.contains("exited with status 3"), "\(result.stderr)")
            #expect(result.stderr.contains("cannot handle event at position 51"), "\(result.stderr)")
            #expect(!FileManager.default.fileExists(atPath: dir + "/out.jsonl"), "no half-written output")
        }
    }

    /// The SQLite sink replaces the table in one transaction; a replay that fails midway leaves it unchanged.
    @Test func sqliteSinkIsTransactional() async throws {
        try await withTemporaryDirectory { dir in
            try await CLI.ok(["init"], in: dir)
            try await CLI.ok(["append"], in: dir, input: bankEvents(events: 300, accounts: 9, seed: 13))
            try await CLI.ok(["flush", "--quiet"], in: dir)
            try await CLI.ok(
                [
                    "replay", "--to", "latest", "--projection", "sum:amount", "--into", "sqlite:rm.db",
                    "--table", "balances", "--quiet",
                ], in: dir)
            func table() async throws -> String {
                try await shell("sqlite3 rm.db \"SELECT key, row->>'$.count' FROM balances ORDER BY key\"", in: dir).out
            }
            let before = try await table()
            #expect(before.split(separator: "\n").count == 9)
            #expect(before.contains("account-1|"))
            // More events, then a projector that dies halfway: the table must not change.
            try await CLI.ok(
                ["append", "--stream", "account-1", "--type", "Broken", "--data", #"{"fail":true}"#], in: dir)
            try await CLI.ok(["flush", "--quiet"], in: dir)
            let failed = try await CLI.run(
                [
                    "replay", "--to", "latest", "--exec", "python3 \(Self.projector)", "--into", "sqlite:rm.db",
                    "--table", "balances",
                ], in: dir)
            #expect(failed.status != 0)
            #expect(try await table() == before)
        }
    }

    @Test func aggregateSnapshotReplayEqualsReplayFromZero() async throws {
        try await withTemporaryDirectory { dir in
            try await CLI.ok(["init"], in: dir)
            try await CLI.ok(["append"], in: dir, input: bankEvents(events: 800, accounts: 20, seed: 8))
            try await CLI.ok(["flush", "--cut", "first", "--quiet"], in: dir)
            try await CLI.ok(["append"], in: dir, input: bankEvents(events: 400, accounts: 25, seed: 9))
            try await CLI.ok(["flush", "--quiet"], in: dir)
            for projection in ["fold", "sum:amount"] {
                try await CLI.ok(
                    ["replay", "--to", "first", "--projection", projection, "--save-snapshot", "--quiet"], in: dir)
                let resumed = try await CLI.run(["replay", "--to", "latest", "--projection", projection], in: dir)
                #expect(resumed.stderr.contains("starting from aggregate snapshot"), "\(resumed.stderr)")
                let scratch = try await CLI.ok(
                    ["replay", "--to", "latest", "--projection", projection, "--from-scratch", "--quiet"], in: dir)
                #expect(resumed.stdout == scratch, "\(projection): snapshot replay differs from replay from zero")
                #expect(!scratch.isEmpty)
            }
        }
    }

    @Test func pruneRefusesWhenTheArchiveDoesNotVerify() async throws {
        try await withTemporaryDirectory { dir in
            try await CLI.ok(["init"], in: dir)
            try await CLI.ok(["append"], in: dir, input: bankEvents(events: 300, accounts: 5, seed: 10))
            try await CLI.ok(["flush", "--quiet", "--partitioning", "none"], in: dir)
            let segment = try await shell("find archive -name 'data*.zst' | head -1", in: dir).out
                .trimmingCharacters(in: .whitespacesAndNewlines)
            _ = try await shell(
                "chmod u+w '\(segment)'; printf 'X' | dd of='\(segment)' bs=1 seek=30 conv=notrunc 2>/dev/null", in: dir
            )
            // No drill could pass on this archive: the check under test is prune's own re-verification.
            let refused = try await CLI.run(["prune", "--before", "latest", "--without-drill"], in: dir)
            #expect(refused.status != 0)
            #expect(refused.stderr.contains("does not verify"), "\(refused.stderr)")
            #expect(refused.stderr.contains(String(segment.dropFirst("archive/".count))), "names the object")
            let status = try await CLI.ok(["status"], in: dir)
            #expect(status.contains("events / streams:     300 / 5"), "\(status)")
            #expect(status.contains("pruned through:       0"))
        }
    }

    @Test func pruneThenReadsAndAppendsKeepWorking() async throws {
        try await withTemporaryDirectory { dir in
            try await CLI.ok(["init"], in: dir)
            try await CLI.ok(["append"], in: dir, input: bankEvents(events: 200, accounts: 4, seed: 11))
            try await CLI.ok(["flush", "--cut", "c1", "--quiet"], in: dir)
            try await CLI.ok(["append"], in: dir, input: bankEvents(events: 50, accounts: 4, seed: 12))
            let undrilled = try await CLI.run(["prune", "--before", "c1"], in: dir)
            #expect(undrilled.status == 1 && undrilled.stderr.contains("archiver drill"), "\(undrilled.stderr)")
            try await CLI.ok(["drill", "--to", "c1"], in: dir)
            let pruned = try await CLI.ok(["prune", "--before", "c1"], in: dir)
            #expect(pruned.contains("pruned 200 hot events"), "\(pruned)")
            let head = try jsonLines(try await CLI.ok(["read", "--stream", "account-1", "--from", "1000"], in: dir))
            #expect(head.isEmpty)
            // The pruned versions read through from the archive.
            let read = try jsonLines(try await CLI.ok(["read", "--stream", "account-1"], in: dir))
            #expect(!read.isEmpty && read.first?["version"] as? Int == 1)
            // Expected versions still work after pruning: the stream head survived.
            let streams = try await CLI.ok(["streams"], in: dir)
            let version = streams.split(separator: "\n").first { $0.hasPrefix("account-1\t") }!.split(separator: "\t")[
                1]
            try await CLI.ok(
                [
                    "append", "--stream", "account-1", "--expected-version", String(version), "--type", "T", "--data",
                    "{}",
                ], in: dir)
            let conflict = try await CLI.run(
                [
                    "append", "--stream", "account-1", "--expected-version", String(version), "--type", "T", "--data",
                    "{}",
                ], in: dir)
            #expect(conflict.status == 2)
        }
    }
}

@Suite struct WatchTests {
    /// `flush --watch` archives new events as they arrive, woken by the store, until stopped.
    @Test func watchArchivesNewEventsUntilStopped() async throws {
        try await withTemporaryDirectory { dir in
            try await CLI.ok(["init"], in: dir)
            let watcher = Process()
            watcher.executableURL = URL(fileURLWithPath: CLI.binary)
            watcher.arguments = ["flush", "--watch", "--interval", "0.2", "--quiet"]
            watcher.currentDirectoryURL = URL(fileURLWithPath: dir)
            watcher.standardOutput = FileHandle.nullDevice
            try watcher.run()
            defer { if watcher.isRunning { watcher.terminate() } }
            for round in 1...3 {
                try await CLI.ok(["append"], in: dir, input: bankEvents(events: 100, accounts: 5, seed: UInt64(round)))
                var archived = false
                for _ in 0..<300 where !archived {
                    try await Task.sleep(for: .milliseconds(100))
                    archived = try await CLI.ok(["status"], in: dir).contains("unflushed events:     0")
                }
                #expect(archived, "round \(round): the watcher did not archive the new events")
            }
            watcher.terminate()
            watcher.waitUntilExit()
            try await expectArchiveEqualsHotStore(in: dir)
            #expect(try await CLI.ok(["verify"], in: dir).hasPrefix("verify OK"))
        }
    }
}
