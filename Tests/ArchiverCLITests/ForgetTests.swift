import Foundation
import Testing

/// Crypto-shredding end to end: the archive holds only ciphertext for subjects' data, `forget` makes it
/// unreadable for one subject, verify still passes, and nobody else is affected.
@Suite struct ForgetTests {
    static func history(_ round: Int) -> String {
        (1...30).map { i in
            let subject = ["alice", "bob", "carol"][i % 3]
            return
                #"{"stream":"customer-\#(subject)","type":"AddressChanged","data":{"street":"\#(subject) street \#(round)-\#(i)"},"metadata":{"subject":"\#(subject)","actor":"crm"}}"#
        }.joined(separator: "\n") + "\n" + #"{"stream":"ledger-1","type":"Posted","data":{"amount":5},"metadata":{}}"#
            + "\n"
    }

    func fold(_ dir: String, _ extra: [String] = []) async throws -> [String: [String: Any]] {
        let rows = try jsonLines(
            try await CLI.ok(["replay", "--to", "latest", "--projection", "fold", "--quiet"] + extra, in: dir))
        return Dictionary(uniqueKeysWithValues: rows.map { ($0["stream"] as! String, $0["state"] as! [String: Any]) })
    }

    @Test func forgottenSubjectsAreUnreadableAndTheArchiveStillVerifies() async throws {
        try await withTemporaryDirectory { dir in
            let env = ["ARCHIVER_SUBJECT_FIELD": "subject"]
            try await CLI.ok(["init"], in: dir)
            try await CLI.ok(["append"], in: dir, input: Self.history(1))
            try await CLI.ok(["flush", "--quiet"], in: dir, environment: env)

            // No subject's plaintext is anywhere in the archive's bytes, only envelopes.
            let archived = try archivedRecords(in: dir)
            #expect(archived.count == 31)
            for record in archived where (record["stream"] as! String).hasPrefix("customer-") {
                #expect((record["data"] as? [String: Any])?["$encrypted"] != nil)
            }
            let plain = try Tamperer(dir: dir).sh("find archive -name 'data*.zst' -print0 | xargs -0 zstd -dc")
            #expect(!plain.contains("street"))
            #expect(plain.contains(#""amount":5"#))

            // Replay with the store's keys reads the plaintext.
            var states = try await fold(dir)
            #expect(states["customer-alice"]?["street"] as? String == "alice street 1-30")
            #expect(states["customer-bob"]?["street"] as? String == "bob street 1-28")

            let forget = try await CLI.ok(["forget", "alice"], in: dir, environment: env)
            #expect(forget.contains("key destroyed; 10 hot event(s) redacted"))
            try await CLI.ok(["append"], in: dir, input: Self.history(2))
            try await CLI.ok(["flush", "--quiet"], in: dir, environment: env)

            states = try await fold(dir)
            #expect(states["customer-alice"]?["$redacted"] as? String == "subject forgotten")
            #expect(states["customer-alice"]?["street"] == nil)
            #expect(states["customer-bob"]?["street"] as? String == "bob street 2-28")
            #expect(states["customer-carol"]?["street"] as? String == "carol street 2-29")
            #expect(states["ledger-1"]?["amount"] as? Int == 5)
            // Alice's events after forget were archived redacted, not under a new key.
            let late = try archivedRecords(in: dir).filter {
                $0["stream"] as? String == "customer-alice" && ($0["position"] as! Int) > 31
            }
            #expect(late.count == 10)
            #expect(late.allSatisfy { ($0["data"] as? [String: Any])?["$redacted"] as? String == "subject forgotten" })
            // The hot store shows the redaction too, for every event recorded before `forget`.
            let hot = try await hotEvents(in: dir).filter {
                $0["stream"] as? String == "customer-alice" && ($0["position"] as! Int) <= 31
            }
            #expect(hot.count == 10)
            #expect(hot.allSatisfy { ($0["data"] as? [String: Any])?["$redacted"] != nil })

            // The hash chain covers the ciphertext: everything still verifies, with the chain recomputed.
            #expect(try await CLI.ok(["verify"], in: dir).contains("verify OK"))
            _ = try await CLI.ok(["replay", "--to", "latest", "--verify-chain", "--quiet"], in: dir)

            // Export: the table shows bob's data and alice's redaction; the bundle still proves every record.
            try await CLI.ok(["export", "--category", "customer", "--format", "csv", "--output", "b"], in: dir)
            let csv = try String(contentsOfFile: dir + "/b/events.csv", encoding: .utf8)
            #expect(csv.contains("bob street 1-1") && !csv.contains("alice street"))
            #expect(csv.contains("subject forgotten"))
            #expect(
                try await CLI.ok(["verify-bundle", "b", "--allow-unsigned"], in: dir).contains("bundle OK: 60 events"))

            // Without the coordination store, encrypted data is shown as unavailable, never as ciphertext.
            try FileManager.default.moveItem(atPath: dir + "/archiver.db", toPath: dir + "/elsewhere.db")
            states = try await fold(dir)
            #expect(states["customer-bob"]?["$redacted"] as? String == "subject key unavailable")
        }
    }

    @Test func forgetNeedsTheSubjectField() async throws {
        try await withTemporaryDirectory { dir in
            try await CLI.ok(["init"], in: dir)
            let result = try await CLI.run(["forget", "alice"], in: dir)
            #expect(result.status != 0 && result.stderr.contains("--subject-field"))
            let bad = try await CLI.run(["forget", "alice", "--subject-field", "a.b"], in: dir)
            #expect(bad.status != 0 && bad.stderr.contains("plain member name"))
        }
    }
}
