import Foundation
import Testing

/// Parses JSON lines with Foundation (the reference parser; these tests are not on a hot path).
func jsonLines(_ text: String) throws -> [[String: Any]] {
    try text.split(separator: "\n").map { line in
        guard let object = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any] else {
            throw CocoaError(.coderReadCorrupt)
        }
        return object
    }
}

/// The hot store's events, as `archiver read --all` prints them.
func hotEvents(in dir: String) async throws -> [[String: Any]] {
    try jsonLines(try await CLI.ok(["read", "--all", "--limit", "100000000"], in: dir))
}

/// The archive's records, read without any of our code: every data object decompressed by the zstd tool.
func archivedRecords(in dir: String) throws -> [[String: Any]] {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/bin/sh")
    process.arguments = ["-c", "find archive -name 'data*.zst' -print0 | xargs -0 -r zstd -dc"]
    process.currentDirectoryURL = URL(fileURLWithPath: dir)
    let pipe = Pipe()
    process.standardOutput = pipe
    try process.run()
    let out = pipe.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return try jsonLines(String(decoding: out, as: UTF8.self))
}

/// Asserts the archive holds exactly the hot store's events: same count, positions, streams, versions, ids,
/// and payload bytes; no duplicate, no gap.
func expectArchiveEqualsHotStore(in dir: String, sourceLocation: SourceLocation = #_sourceLocation) async throws {
    let hot = try await hotEvents(in: dir)
    let archived = try archivedRecords(in: dir).sorted { ($0["position"] as! Int) < ($1["position"] as! Int) }
    #expect(
        archived.count == hot.count, "archive has \(archived.count) events, hot store \(hot.count)",
        sourceLocation: sourceLocation)
    let positions = archived.map { $0["position"] as! Int }
    #expect(
        Set(positions).count == positions.count, "duplicate positions in the archive", sourceLocation: sourceLocation)
    for (h, a) in zip(hot, archived) {
        #expect(h["position"] as? Int == a["position"] as? Int, sourceLocation: sourceLocation)
        #expect(h["stream"] as? String == a["stream"] as? String, sourceLocation: sourceLocation)
        #expect(h["version"] as? Int == a["version"] as? Int, sourceLocation: sourceLocation)
        #expect(h["id"] as? String == a["id"] as? String, sourceLocation: sourceLocation)
        #expect(
            NSDictionary(dictionary: (h["data"] as? [String: Any]) ?? [:])
                == NSDictionary(dictionary: (a["data"] as? [String: Any]) ?? [:]), sourceLocation: sourceLocation)
    }
}

@Suite struct EndToEndTests {
    @Test func appendFlushReplayVerify() async throws {
        try await withTemporaryDirectory { dir in
            try await CLI.ok(["init"], in: dir)
            let summary = try await CLI.ok(["append"], in: dir, input: bankEvents(events: 3_000, accounts: 40, seed: 1))
            #expect(summary.contains("3000"))
            let flushed = try await CLI.ok(["flush", "--cut", "first"], in: dir)
            #expect(flushed.contains("flushed 3000 events"), "\(flushed)")
            #expect(flushed.contains("named 'first'"))
            try await CLI.ok(["append"], in: dir, input: bankEvents(events: 1_000, accounts: 40, seed: 2))
            try await CLI.ok(["flush"], in: dir)
            try await expectArchiveEqualsHotStore(in: dir)

            // Replay to the first cut equals a fold over the hot store's first 3000 events.
            let hot = try await hotEvents(in: dir)
            func expectedSums(upTo position: Int) -> [String: (count: Int, sum: Int)] {
                var sums: [String: (count: Int, sum: Int)] = [:]
                for e in hot where (e["position"] as! Int) <= position {
                    let stream = e["stream"] as! String
                    let amount = (e["data"] as! [String: Any])["amount"] as! Int
                    sums[stream, default: (0, 0)].count += 1
                    sums[stream, default: (0, 0)].sum += amount
                }
                return sums
            }
            let firstCutPosition = hot[2_999]["position"] as! Int
            for (cut, position) in [("first", firstCutPosition), ("latest", hot.last!["position"] as! Int)] {
                let rows = try jsonLines(
                    try await CLI.ok(["replay", "--to", cut, "--projection", "sum:amount"], in: dir))
                let expected = expectedSums(upTo: position)
                #expect(rows.count == expected.count)
                for row in rows {
                    let stream = row["stream"] as! String
                    #expect(row["count"] as? Int == expected[stream]?.count, "\(cut) \(stream)")
                    #expect((row["sum"] as? NSNumber)?.intValue == expected[stream]?.sum, "\(cut) \(stream)")
                }
            }
            // A position cut and the merge-patch fold.
            let folded = try jsonLines(
                try await CLI.ok(["replay", "--to", String(firstCutPosition), "--stream", "account-7"], in: dir))
            #expect(folded.count == 1)
            #expect(
                folded.first?["version"] as? Int
                    == hot.filter {
                        ($0["stream"] as! String) == "account-7" && ($0["position"] as! Int) <= firstCutPosition
                    }.count)

            let verified = try await CLI.ok(["verify"], in: dir)
            #expect(verified.hasPrefix("verify OK"), "\(verified)")
            #expect(verified.contains("4000 events"))
        }
    }

    @Test func unknownCutAndEmptyArchiveAreClearErrors() async throws {
        try await withTemporaryDirectory { dir in
            try await CLI.ok(["init"], in: dir)
            let empty = try await CLI.run(["replay", "--to", "latest"], in: dir)
            #expect(empty.status != 0)
            #expect(empty.stderr.contains("no archive") || empty.stderr.contains("no snapshots"), "\(empty.stderr)")
            try await CLI.ok(["append"], in: dir, input: bankEvents(events: 10, accounts: 2, seed: 3))
            try await CLI.ok(["flush", "--cut", "month-end"], in: dir)
            let unknown = try await CLI.run(["replay", "--to", "month-ende"], in: dir)
            #expect(unknown.status == 4)
            #expect(unknown.stderr.contains("month-end"), "\(unknown.stderr)")
            #expect(unknown.stderr.split(separator: "\n").count == 1)
        }
    }
}
