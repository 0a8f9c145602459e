import Foundation
import Testing

/// The chain is recomputed on a worker thread fed batches of records (ChainWorker, 64 KiB of record bytes each):
/// a record altered on either side of a batch boundary is still reported as before, naming its line, and the
/// snapshot's other checks still run after it.
@Suite struct ChainWorkerTamperTests {
    /// The worker's batch size: a batch is handed over once its record bytes (lines without newlines) reach it.
    static let batchBytes = 1 << 16

    /// One snapshot of `format` holding several batches' worth of records, in one unpartitioned file: 1,200
    /// records, enough for a thread of its own (ChainWorker.threadedFrom, 1,000; TamperTests' snapshots of 200
    /// records are chained on the reader's thread).
    func makeArchive(in dir: String, format: String) async throws -> (file: String, lines: [String]) {
        try await CLI.ok(["init"], in: dir)
        try await CLI.ok(["append"], in: dir, input: bankEvents(events: 1_200, accounts: 10, seed: 5))
        try await CLI.ok(["flush", "--partitioning", "none", "--archive-format", format, "--quiet"], in: dir)
        #expect(try await CLI.ok(["verify"], in: dir).hasPrefix("verify OK"))
        let t = Tamperer(dir: dir)
        let file = try #require(try t.dataFiles(ofManifest: try t.manifests()[0]).first)
        let lines = try t.lines(of: file)
        try #require(lines.reduce(0) { $0 + $1.utf8.count } > 2 * Self.batchBytes)
        return (file, lines)
    }

    /// The index of the last line of the first batch.
    static func lastLineOfFirstBatch(_ lines: [String]) -> Int {
        var bytes = 0
        for (i, line) in lines.enumerated() {
            bytes += line.utf8.count
            if bytes >= batchBytes { return i }
        }
        return lines.count - 1
    }

    /// A member added to the record's data: the record still decodes, but its body no longer hashes as archived.
    static func altered(_ line: String) -> String {
        line.replacingOccurrences(of: #""data":{"#, with: #""data":{"forged":1,"#)
    }

    @Test(arguments: ["1", "2"], [0, 1])
    func aRecordAlteredAtABatchBoundaryIsCaught(format: String, side: Int) async throws {
        try await withTemporaryDirectory { dir in
            var (file, lines) = try await makeArchive(in: dir, format: format)
            let index = Self.lastLineOfFirstBatch(lines) + side
            let forged = Self.altered(lines[index])
            try #require(forged != lines[index])
            lines[index] = forged
            try Tamperer(dir: dir).rewrite(file, lines: lines)
            // Format 1 records carry their own chain value: the altered line is named. Format 2 records carry none:
            // the chain ends away from the manifest's head.
            let words =
                format == "1" ? ["line \(index + 1)", "does not follow"] : ["ends its hash chain at"]
            try await TamperTests().expectDetected(dir, mentioning: words)
            let replay = try await CLI.run(
                ["replay", "--to", "latest", "--verify-chain", "--projection", "sum:amount", "--output", "sums.jsonl"],
                in: dir)
            #expect(replay.status == 10, "replay --verify-chain exited \(replay.status): \(replay.stderr)")
            #expect(words.allSatisfy { replay.stderr.contains($0) }, "\(replay.stderr)")
        }
    }

    /// A later record out of order (a consumer-side error) after an earlier record altered (a worker-side error):
    /// the earlier one is reported, as when the chain ran inline.
    @Test func theEarlierOfTwoProblemsIsReported() async throws {
        try await withTemporaryDirectory { dir in
            var (file, lines) = try await makeArchive(in: dir, format: "1")
            let boundary = Self.lastLineOfFirstBatch(lines)
            lines[boundary - 2] = Self.altered(lines[boundary - 2])
            lines.swapAt(boundary + 3, boundary + 4)
            try Tamperer(dir: dir).rewrite(file, lines: lines)
            try await TamperTests().expectDetected(dir, mentioning: ["line \(boundary - 1)", "does not follow"])
        }
    }
}
