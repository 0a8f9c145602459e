import Foundation
import Testing

/// Upcasters through the real `archiver`: one view, byte for byte, through replay, read and export; the
/// bundle's view recomputed by the Python reference from the archived records; hostile rules refused.
@Suite struct UpcastTests {
    static let reference = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("Fixtures/upcast_reference.py").path

    /// The worked example of docs/REPLAY.md "Upcasting", shared with ArchiverCoreTests.
    static let rules = sharedFixture("upcasters-worked-example.yaml")

    /// A history in three shapes: v1 and v2 account openings, address changes to split, deposits untouched.
    static func archive(_ dir: String) async throws {
        try await CLI.ok(["init"], in: dir)
        var lines: [String] = []
        for i in 0..<60 {
            let stream = "account-\(i % 12)"
            switch i % 4 {
            case 0:
                lines.append(#"{"stream":"\#(stream)","type":"AccountOpened","data":{"holder":"h\#(i)"}}"#)
            case 1:
                lines.append(
                    #"{"stream":"\#(stream)","type":"AccountOpened","data":{"owner":"o\#(i)", "currency":"SEK"},"#
                        + #""metadata":{"schema_version":2}}"#)
            case 2:
                lines.append(
                    #"{"stream":"\#(stream)","type":"AddressChanged","data":{"address":{"street":"s\#(i)","city":"c\#(i)"}}}"#
                )
            default:
                lines.append(#"{"stream":"\#(stream)","type":"Deposited","data":{"amount": \#(i)}}"#)
            }
        }
        try await CLI.ok(["append"], in: dir, input: lines.joined(separator: "\n") + "\n")
        try await CLI.ok(["flush", "--quiet"], in: dir)
        try rules.write(toFile: dir + "/upcasters.yaml", atomically: true, encoding: .utf8)
    }

    /// `id`, `type`, and everything from `"data":` on: what the surfaces share (read prints the time as
    /// `recorded_at_ns`, replay and export as `recorded_at`).
    static func shared(_ line: Substring) throws -> String {
        let object = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
        let data = try #require(line.range(of: #","data":"#))
        return "\(object["id"] as? String ?? "-") \(object["type"] as? String ?? "-") " + line[data.lowerBound...]
    }

    @Test func replayReadAndExportPresentTheSameView() async throws {
        try await withTemporaryDirectory { dir in
            try await Self.archive(dir)
            let replayed = try await CLI.ok(
                ["replay", "--upcasters", "upcasters.yaml", "--exec", "cat", "--quiet"], in: dir)
            #expect(
                try await CLI.ok(["replay", "--upcasters", "upcasters.yaml", "--exec", "cat", "--quiet"], in: dir)
                    == replayed)
            let view = replayed.split(separator: "\n")
            // 15 v1 openings upcast, 15 v2 as they were, 15 address changes split in two, 15 deposits.
            #expect(view.count == 75)
            #expect(view[0].contains(#""data":{"currency":"EUR","owner":"h0"},"metadata":{"schema_version":2}}"#))
            #expect(view[1].contains(#""data":{"owner":"o1", "currency":"SEK"}"#), "untouched bytes")
            #expect(view[2].contains(#""type":"StreetChanged""#) && view[3].contains(#""type":"CityChanged""#))
            #expect(view[2].contains(#""data":{"street":"s2"}"#) && view[3].contains(#""data":{"city":"c2"}"#))

            try await CLI.ok(["export", "--upcasters", "upcasters.yaml", "--output", "bundle"], in: dir)
            let exported = try String(contentsOfFile: dir + "/bundle/upcast.jsonl", encoding: .utf8)
            #expect(exported == replayed)

            let read = try await CLI.ok(["read", "--all", "--upcast", "--upcasters", "upcasters.yaml"], in: dir)
            #expect(try read.split(separator: "\n").map(Self.shared) == view.map(Self.shared))

            // The archived records and their proofs are the same as in a bundle without upcasters.
            try await CLI.ok(["export", "--output", "plain"], in: dir)
            for file in ["records.jsonl", "proofs.jsonl"] {
                #expect(
                    FileManager.default.contents(atPath: "\(dir)/bundle/\(file)")
                        == FileManager.default.contents(atPath: "\(dir)/plain/\(file)"))
            }
            #expect(!FileManager.default.fileExists(atPath: dir + "/plain/upcast.jsonl"))
            // The hash in bundle.json is that of upcasters.json, and what `upcast check` prints.
            let info = try #require(
                try JSONSerialization.jsonObject(
                    with: Data(contentsOf: URL(fileURLWithPath: dir + "/bundle/bundle.json")))
                    as? [String: Any])
            let hash = try #require(info["upcasters_sha256"] as? String)
            let check = try await CLI.ok(["upcast", "check", "upcasters.yaml"], in: dir)
            #expect(check.contains("rule set \(hash):"))
            #expect(check.contains("observed AccountOpened v1: 15") && check.contains("ok: nothing to report"))
            try await CLI.ok(["verify-bundle", "bundle", "--allow-unsigned"], in: dir)

            // An auditor recomputes the view from the archived events with the bundled rules.
            let raw = try await CLI.ok(["replay", "--exec", "cat", "--quiet"], in: dir)
            try raw.write(toFile: dir + "/raw.jsonl", atomically: true, encoding: .utf8)
            let python = Process()
            python.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            python.arguments = ["python3", Self.reference, dir + "/bundle/upcasters.json"]
            python.standardInput = FileHandle(forReadingAtPath: dir + "/raw.jsonl")
            let out = Pipe()
            python.standardOutput = out
            try python.run()
            let recomputed = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            python.waitUntilExit()
            #expect(recomputed == exported)
        }
    }

    /// `GET /events?upcast=true` paged to the end: the bodies, and the tiers the pages came from.
    static func httpEvents(_ dir: String) async throws -> (body: String, tiers: String) {
        let serve = try await ServeProcess(["--flush-interval", "0"], in: dir)
        defer { serve.cleanUp() }
        var body = ""
        var tiers: Set<String> = []
        var after = 0
        while true {
            let reply = try await serve.request("GET", "/events?after=\(after)&limit=7&upcast=true")
            #expect(reply.status == 200, "\(reply.body)")
            tiers.insert(reply.headers["archiver-tier"] ?? "none")
            body += reply.body
            guard let last = reply.object["last_position"] as? Int, last > after else { break }
            after = last
        }
        serve.signal(SIGTERM)
        _ = try await serve.waitForExit()
        return (body, tiers.sorted().joined(separator: ","))
    }

    @Test func coldReadsPresentTheBytesOfHotReadsAndOfExport() async throws {
        try await withTemporaryDirectory { dir in
            try await Self.archive(dir)
            // The configuration's rules, so `serve` upcasts too.
            try Self.rules.write(toFile: dir + "/archiver.yaml", atomically: true, encoding: .utf8)
            let reads = [
                ["read", "--all", "--upcast"], ["read", "--stream", "account-2", "--upcast"],
                ["read", "--category", "account", "--after", "7", "--limit", "20", "--upcast"],
            ]
            var hot: [String] = []
            for args in reads { hot.append(try await CLI.ok(args, in: dir)) }
            let hotHTTP = try await Self.httpEvents(dir)
            #expect(hotHTTP.tiers == "store")
            try await CLI.ok(["export", "--output", "bundle"], in: dir)
            let exported = try String(contentsOfFile: dir + "/bundle/upcast.jsonl", encoding: .utf8)
            #expect(exported.contains(#""type":"StreetChanged""#), "the configured rules apply")

            try await CLI.ok(["prune", "--before", "latest", "--without-drill"], in: dir)
            for (args, expected) in zip(reads, hot) {
                #expect(!expected.isEmpty)
                #expect(try await CLI.ok(args, in: dir) == expected, "\(args) differs once pruned")
            }
            let coldHTTP = try await Self.httpEvents(dir)
            #expect(coldHTTP.tiers.contains("archive"), "served from the archive")
            #expect(coldHTTP.body == hotHTTP.body)
            // Read and export present the same rows: 75 events (15 address changes split in two).
            let readRows = hot[0].split(separator: "\n")
            #expect(readRows.count == 75)
            #expect(try readRows.map(Self.shared) == exported.split(separator: "\n").map(Self.shared))
        }
    }

    @Test func hostileRulesAreRefusedWithTheRuleAndLine() async throws {
        try await withTemporaryDirectory { dir in
            try await Self.archive(dir)
            let bad =
                "rules:\n  - name: loop\n    type: A\n    steps:\n      - rename-type: B\n"
                + "  - name: back\n    type: B\n    steps:\n      - rename-type: A\n"
            try bad.write(toFile: dir + "/bad.yaml", atomically: true, encoding: .utf8)
            for args in [
                ["replay", "--upcasters", "bad.yaml"], ["upcast", "check", "bad.yaml"],
                ["export", "--upcasters", "bad.yaml", "-o", "b"],
            ] {
                let result = try await CLI.run(args, in: dir)
                #expect(result.status == 64, "\(args)")
                #expect(
                    result.stderr.contains(
                        "bad.yaml line 2, rule 'loop': rules form a cycle ('loop' -> 'back' -> 'loop')"),
                    "\(result.stderr)")
            }
            #expect(!FileManager.default.fileExists(atPath: dir + "/b"))
        }
    }

    @Test func checkReportsTargetsConflictsAndRulesThatNeverMatch() async throws {
        try await withTemporaryDirectory { dir in
            try await Self.archive(dir)
            let rules =
                Self.rules.replacingOccurrences(of: "AccountOpened: 2", with: "AccountOpened: 3")
                + "    - name: shadowed\n      type: AccountOpened\n      version: 1\n      steps:\n        - set-version: 5\n"
                + "    - name: unused\n      type: Withdrawn\n      steps:\n        - drop: true\n"
            try rules.write(toFile: dir + "/more.yaml", atomically: true, encoding: .utf8)
            let result = try await CLI.run(["upcast", "check", "more.yaml"], in: dir)
            #expect(result.status == 1)
            #expect(
                result.stdout.contains(
                    "finding: AccountOpened v1 (15 events) ends as AccountOpened v2: no rule brings it to the target v3"
                ))
            #expect(result.stdout.contains("finding: AccountOpened v2 (15 events) ends as AccountOpened v2"))
            #expect(
                result.stdout.contains(
                    "finding: rule 'shadowed' (line 21) conflicts with rule 'account-opened-v2' (line 6)"))
            #expect(result.stdout.contains("finding: rule 'unused' (line 26) never matches"))
            let preview = try await CLI.ok(
                ["upcast", "preview", "--type", "AddressChanged", "--limit", "1", "--upcasters", "upcasters.yaml"],
                in: dir)
            let lines = preview.split(separator: "\n")
            #expect(lines.count == 3 && lines[0].hasPrefix("before: ") && lines[2].contains(#""type":"CityChanged""#))
        }
    }

    /// The configuration file's section is used without --upcasters; a misspelt section is an unknown key
    /// with the nearest name.
    @Test func theConfigurationFileSectionApplies() async throws {
        try await withTemporaryDirectory { dir in
            try await Self.archive(dir)
            let flagged = try await CLI.ok(["replay", "--upcasters", "upcasters.yaml", "--quiet"], in: dir)
            try Self.rules.write(toFile: dir + "/archiver.yaml", atomically: true, encoding: .utf8)
            #expect(try await CLI.ok(["replay", "--quiet"], in: dir) == flagged)
            try Self.rules.replacingOccurrences(of: "upcasters:", with: "upcaster:")
                .write(toFile: dir + "/archiver.yaml", atomically: true, encoding: .utf8)
            let result = try await CLI.run(["replay", "--quiet"], in: dir)
            #expect(result.status == 64)
            #expect(result.stderr.contains("unknown key 'upcaster' in archiver.yaml; did you mean 'upcasters'?"))
        }
    }
}
