import Foundation
import Testing

/// A published anchor that no longer matches the archive: `verify --anchor` names each differing field with the
/// archive's value and the anchored one.
@Suite struct AnchorMessageTests {
    @Test func aChangedManifestHashIsNamedWithBothValues() async throws {
        try await withTemporaryDirectory { dir in
            try await CLI.ok(["init"], in: dir)
            try await CLI.ok(["append"], in: dir, input: bankEvents(events: 100, accounts: 5, seed: 9))
            try await CLI.ok(["flush", "--quiet"], in: dir)
            try await CLI.ok(["anchor", "--append", "anchors.jsonl"], in: dir)
            let line = try String(contentsOfFile: dir + "/anchors.jsonl", encoding: .utf8)
            let anchor = try #require(
                try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
            let real = try #require(anchor["manifest_sha256"] as? String)
            let chain = try #require(anchor["chain_head"] as? String)
            let forged = String(real.prefix(16)) + String(repeating: "0", count: real.count - 16)
            try line.replacingOccurrences(of: real, with: forged)
                .write(toFile: dir + "/anchors.jsonl", atomically: true, encoding: .utf8)
            let result = try await CLI.run(["verify", "--anchor", "anchors.jsonl"], in: dir)
            #expect(result.status == 10)
            let output = result.stdout + result.stderr
            #expect(output.contains("manifest SHA-256 \(real) vs anchored \(forged)"), "\(output)")
            #expect(!output.contains("chain head \(chain) vs"), "the chain head matches and must not be named")
        }
    }
}
