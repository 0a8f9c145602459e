import Foundation
import Testing

/// Issue 23 faults 3, 10 and 11 as a user meets them: bad bytes and bad lines through the real `archiver`.
@Suite struct AppendDataFaultTests {
    /// Runs `archiver ARGS < FILE` through the shell, so stdin carries exactly the file's bytes.
    func append(
        _ arguments: String, stdin file: String? = nil, in dir: String
    ) async throws -> (
        status: Int32, out: String, err: String
    ) {
        try await shell("'\(CLI.binary)' append \(arguments)" + (file.map { " < \($0)" } ?? ""), in: dir)
    }

    func write(_ bytes: [UInt8], to name: String, in dir: String) throws {
        try Data(bytes).write(to: URL(fileURLWithPath: dir + "/" + name))
    }

    static let goodLine = Array(#"{"stream":"s-1","type":"T","data":{"n":1}}"#.utf8) + [0x0A]

    /// `\xff`, an overlong `/`, and a UTF-16 surrogate, inside the data of line 3.
    @Test(arguments: [[0xFF], [0xC0, 0xAF], [0xED, 0xA0, 0x80]] as [[UInt8]])
    func invalidUTF8OnStdinAppendsNothing(bad: [UInt8]) async throws {
        try await withTemporaryDirectory { dir in
            try await CLI.ok(["init"], in: dir)
            let prefix = Array(#"{"stream":"s-1","type":"T","data":{"n":""#.utf8)
            let line3 = prefix + bad + Array(#""}}"#.utf8) + [0x0A]
            try write(Self.goodLine + Self.goodLine + line3 + Self.goodLine, to: "in.jsonl", in: dir)
            let result = try await append("", stdin: "in.jsonl", in: dir)
            #expect(result.status == 65, "\(result.err)")
            #expect(
                result.err.contains("stdin line 3: invalid UTF-8 at byte offset \(prefix.count) of the line"),
                "\(result.err)")
            #expect(result.err.contains("nothing was appended"))
            #expect(try await hotEvents(in: dir).isEmpty)
        }
    }

    @Test func invalidUTF8InDataAppendsNothing() async throws {
        try await withTemporaryDirectory { dir in
            try await CLI.ok(["init"], in: dir)
            let inline = try await append(
                #"--stream s-1 --type T --data "$(printf '{"a":"\303\251\377"}')""#, in: dir)
            #expect(inline.status == 65, "\(inline.err)")
            #expect(inline.err.contains("--data: invalid UTF-8 at line 1, byte offset 8"), "\(inline.err)")
            try write(Array("{\n \"a\": \"x".utf8) + [0xC0, 0x80] + Array("\"}".utf8), to: "data.json", in: dir)
            let file = try await append("--stream s-1 --type T --data @data.json", in: dir)
            #expect(file.status == 65, "\(file.err)")
            #expect(file.err.contains("--data @data.json: invalid UTF-8 at line 2, byte offset 8"), "\(file.err)")
            #expect(try await hotEvents(in: dir).isEmpty)
        }
    }

    /// Multi-byte UTF-8 (2, 3 and 4 bytes) goes in and comes out byte for byte.
    @Test func validUTF8IsStoredByteForByte() async throws {
        try await withTemporaryDirectory { dir in
            try await CLI.ok(["init"], in: dir)
            let line = #"{"stream":"s-é","type":"T","data":{"a":"é€𝄞"}}"# + "\n"
            try write(Array(line.utf8), to: "in.jsonl", in: dir)
            let result = try await append("", stdin: "in.jsonl", in: dir)
            #expect(result.status == 0, "\(result.err)")
            let events = try await hotEvents(in: dir)
            #expect(events.count == 1)
            #expect(events.first?["stream"] as? String == "s-é")
            #expect((events.first?["data"] as? [String: Any])?["a"] as? String == "é€𝄞")
        }
    }

    /// A syntax error and a rule the store applies (a 300-byte stream name), both at line 4: nothing is
    /// appended either way, and sending the fixed file then appends every event once.
    @Test(arguments: [#"{"stream":"s-2","type":"T","data":{"n":}"#, #"{"stream":"LONG","type":"T","data":{}}"#])
    func aBadLineAppendsNothingAndTheFixedInputAppendsOnce(badLine: String) async throws {
        try await withTemporaryDirectory { dir in
            try await CLI.ok(["init"], in: dir)
            let bad = badLine.replacingOccurrences(of: "LONG", with: String(repeating: "x", count: 300))
            let good = (1...5).map { #"{"stream":"s-\#($0 % 2)","type":"T","data":{"n":\#($0)}}"# }
            for batchSize in ["1", "2", "500"] {
                let lines = good[0..<3] + [bad] + good[3...]
                try write(Array((lines.joined(separator: "\n") + "\n").utf8), to: "in.jsonl", in: dir)
                let result = try await append("--batch-size \(batchSize)", stdin: "in.jsonl", in: dir)
                #expect(result.status == 65, "\(batchSize): \(result.err)")
                #expect(result.err.hasPrefix("error: stdin line 4: "), "\(result.err)")
                #expect(result.err.contains("nothing was appended"), "\(result.err)")
                #expect(try await hotEvents(in: dir).isEmpty, "--batch-size \(batchSize)")
            }
            try write(Array((good.joined(separator: "\n") + "\n").utf8), to: "fixed.jsonl", in: dir)
            let fixed = try await append("--batch-size 2", stdin: "fixed.jsonl", in: dir)
            #expect(fixed.status == 0, "\(fixed.err)")
            let events = try await hotEvents(in: dir)
            #expect(events.compactMap { ($0["data"] as? [String: Any])?["n"] as? Int } == [1, 2, 3, 4, 5])
            #expect(events.compactMap { $0["position"] as? Int } == [1, 2, 3, 4, 5])
        }
    }

    /// A sum past the largest double (or a literal beyond it) is an error naming the stream and field, never
    /// `"sum":inf` in the output.
    @Test func sumOverflowIsADataError() async throws {
        try await withTemporaryDirectory { dir in
            try await CLI.ok(["init"], in: dir)
            let lines = [
                #"{"stream":"ok","type":"T","data":{"amount":1}}"#,
                #"{"stream":"big","type":"T","data":{"amount":1.5e308}}"#,
                #"{"stream":"big","type":"T","data":{"amount":1.5e308}}"#,
            ]
            try await CLI.ok(["append"], in: dir, input: lines.joined(separator: "\n") + "\n")
            try await CLI.ok(["flush", "--quiet"], in: dir)
            let result = try await CLI.run(["replay", "--projection", "sum:amount", "--quiet"], in: dir)
            #expect(result.status == 65, "\(result.stderr)")
            #expect(result.stderr.contains("stream 'big': the sum of data.amount"), "\(result.stderr)")
            #expect(result.stdout.isEmpty, "\(result.stdout)")
            #expect(!result.stdout.contains("inf") && !result.stdout.contains("nan"))
            let fine = try await CLI.ok(["replay", "--projection", "sum:amount", "--stream", "ok", "--quiet"], in: dir)
            #expect(try jsonLines(fine).first?["sum"] as? Int == 1)
        }
    }
}
