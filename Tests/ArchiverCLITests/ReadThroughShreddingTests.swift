import Foundation
import Testing

/// Crypto-shredded events read through the archive: `archiver read` shows pruned events' data exactly as
/// `replay --exec cat` shows it, plaintext while the subject's key exists and the same redaction once it is
/// forgotten.
@Suite struct ReadThroughShreddingTests {
    static let environment = ["ARCHIVER_SUBJECT_FIELD": "subject"]

    /// The raw bytes of each line's `data` member, by position (the member sits between `id`…`recorded_at*`
    /// and `metadata`, the last member, in both renderings).
    static func dataByPosition(_ lines: String) throws -> [Int: String] {
        var out: [Int: String] = [:]
        for line in lines.split(separator: "\n") {
            let object = try #require(try jsonLines(String(line)).first)
            let position = try #require(object["position"] as? Int)
            let start = try #require(line.range(of: #","data":"#))
            let end = try #require(line.range(of: #","metadata":"#, options: .backwards))
            out[position] = String(line[start.upperBound..<end.lowerBound])
        }
        return out
    }

    static func read(_ dir: String, _ args: [String] = ["--all"]) async throws -> [Int: String] {
        try dataByPosition(try await CLI.ok(["read", "--limit", "100000"] + args, in: dir, environment: environment))
    }

    static func replayed(_ dir: String) async throws -> [Int: String] {
        try dataByPosition(
            try await CLI.ok(
                ["replay", "--to", "latest", "--exec", "cat", "--quiet"], in: dir, environment: environment))
    }

    @Test func shreddedEventsReadThroughExactlyAsReplayShowsThem() async throws {
        try await withTemporaryDirectory { dir in
            try await CLI.ok(["init"], in: dir)
            try await CLI.ok(["append"], in: dir, input: ForgetTests.history(1))
            try await CLI.ok(["flush", "--quiet"], in: dir, environment: Self.environment)
            try await CLI.ok(["append"], in: dir, input: ForgetTests.history(2))
            try await CLI.ok(["prune", "--before", "latest", "--without-drill"], in: dir)
            let archived = 1...31
            let hot = 32...62

            // Before forget: the pruned events come from the archive, opened with the store's keys, as the data
            // that was appended (the archive itself holds only envelopes for subjects' data).
            var read = try await Self.read(dir)
            var replay = try await Self.replayed(dir)
            #expect(read.keys.sorted() == Array(1...62) && replay.keys.sorted() == Array(archived))
            for position in archived { #expect(read[position] == replay[position], "position \(position)") }
            #expect(read[3] == #"{"street":"alice street 1-3"}"#, "\(read[3] ?? "-")")
            #expect(read[1] == #"{"street":"bob street 1-1"}"#, "\(read[1] ?? "-")")
            #expect(read[31] == #"{"amount":5}"#)
            #expect(read[34] == #"{"street":"alice street 2-3"}"#, "\(read[34] ?? "-")")
            #expect(try archivedRecords(in: dir).allSatisfy { ($0["data"] as? [String: Any])?["street"] == nil })

            let forget = try await CLI.ok(["forget", "alice"], in: dir, environment: Self.environment)
            #expect(forget.contains("key destroyed; 10 hot event(s) redacted"), "\(forget)")

            // After forget: alice's archived events read through as replay's redaction, everyone else unchanged.
            let before = read
            read = try await Self.read(dir)
            replay = try await Self.replayed(dir)
            #expect(read.keys.sorted() == Array(1...62))
            for position in archived { #expect(read[position] == replay[position], "position \(position)") }
            let redacted = #"{"$redacted":"subject forgotten"}"#
            for position in 1...62 {
                // history(n)'s line i (position i, or 31 + i in round 2) is alice's when i % 3 == 0; line 31 is
                // the ledger's.
                let line = position <= 31 ? position : position - 31
                if line % 3 == 0 && line != 31 {
                    #expect(read[position] == redacted, "position \(position): \(read[position] ?? "-")")
                } else {
                    #expect(read[position] == before[position], "position \(position) changed")
                }
            }
            #expect(read.values.filter { $0 == redacted }.count == 20)
            #expect(read.values.filter { $0.contains("alice street") }.isEmpty)
            #expect(hot.allSatisfy { read[$0] != nil })

            // A stream read of the forgotten subject through the archive shows the same redaction.
            let stream = try await Self.read(dir, ["--stream", "customer-alice"])
            #expect(stream.count == 20 && stream.values.allSatisfy { $0 == redacted }, "\(stream)")
        }
    }
}
