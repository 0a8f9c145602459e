import Foundation
import Testing

/// `archiver export` bundles, checked by `archiver verify-bundle` and by an independent Python reference
/// of the bundle README's hand procedure; every alteration an attacker could make to a bundle is caught.
@Suite struct ExportTests {
    /// Two signed flushes of a bank history; returns the directory.
    static func signedArchive(_ dir: String, format: String = "2") async throws {
        try await CLI.ok(["init"], in: dir)
        try await CLI.ok(["keys", "generate", "--out", "owner"], in: dir)
        try await CLI.ok(["keys", "generate", "--out", "stranger"], in: dir)
        try await CLI.ok(["append"], in: dir, input: bankEvents(events: 3000, accounts: 40, seed: 1))
        try await CLI.ok(
            ["flush", "--quiet", "--signing-key", "owner.key", "--cut", "first", "--archive-format", format], in: dir)
        try await CLI.ok(["append"], in: dir, input: bankEvents(events: 2000, accounts: 40, seed: 2, firstDeposit: 1))
        try await CLI.ok(["flush", "--quiet", "--signing-key", "owner.key"], in: dir)
        try await CLI.ok(["anchor", "--append", "anchors.txt"], in: dir)
    }

    func lines(_ path: String) throws -> [String] {
        try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n").map(String.init)
    }

    func write(_ lines: [String], to path: String) throws {
        try Data((lines.joined(separator: "\n") + "\n").utf8).write(to: URL(fileURLWithPath: path))
    }

    /// Copies the bundle, applies `edit` to the copy, and expects verify-bundle to fail with `status` and a
    /// message containing `message`.
    func expectDetected(
        _ dir: String, _ name: String, status: Int32 = 10, message: String, keys: [String] = ["owner.pub"],
        _ edit: (String) throws -> Void
    ) async throws {
        let copy = "\(dir)/\(name)"
        try FileManager.default.copyItem(atPath: "\(dir)/bundle", toPath: copy)
        try edit(copy)
        let result = try await CLI.run(["verify-bundle", name] + keys.flatMap { ["--public-key", $0] }, in: dir)
        #expect(result.status == status, "\(name): \(result.stdout) \(result.stderr)")
        #expect(result.stderr.contains(message), "\(name): \(result.stderr)")
        #expect(result.stdout.contains("bundle FAILED"), "\(name)")
    }

    @Test(arguments: ["1", "2"])
    func bundlesVerifyOfflineAndEveryAlterationIsCaught(format: String) async throws {
        try await withTemporaryDirectory { dir in
            try await Self.signedArchive(dir, format: format)
            let export = try await CLI.ok(
                [
                    "export", "--category", "account", "--type", "MoneyDeposited", "--from", "100", "--format", "csv",
                    "--output", "bundle",
                ], in: dir)
            #expect(export.contains("exported"))
            let records = try lines("\(dir)/bundle/records.jsonl")
            let selected = try jsonLines(records.joined(separator: "\n"))
            #expect(selected.count > 100)
            #expect(
                selected.allSatisfy { $0["type"] as? String == "MoneyDeposited" && ($0["position"] as! Int) >= 100 })
            // The same events as the archive holds, byte for byte.
            let archived = try archivedRecords(in: dir).filter {
                $0["type"] as? String == "MoneyDeposited" && ($0["position"] as! Int) >= 100
            }
            let exportedPositions = selected.map { $0["position"] as! Int }
            #expect(exportedPositions == exportedPositions.sorted())
            #expect(Set(exportedPositions) == Set(archived.map { $0["position"] as! Int }), "same events as archived")
            #expect(try lines("\(dir)/bundle/proofs.jsonl").count == records.count)

            // Offline, with the owner's key and the published anchor.
            let ok = try await CLI.ok(
                ["verify-bundle", "bundle", "--public-key", "owner.pub", "--anchor", "anchors.txt"], in: dir)
            #expect(ok.contains("bundle OK: \(records.count) events"))
            #expect(ok.contains("matches 1 anchor(s)"))

            // The README's procedure, done by an independent implementation.
            let reference = try Tamperer(dir: dir).sh("python3 - bundle <<'EOF'\n\(Self.referenceVerifier)\nEOF")
            #expect(reference.trimmingCharacters(in: .whitespacesAndNewlines) == "reference OK \(records.count)")

            try await expectDetected(dir, "altered-event", message: "the event was altered") { copy in
                var r = try lines("\(copy)/records.jsonl")
                r[5] = r[5].replacingOccurrences(of: "\"amount\":", with: "\"amount\":1")
                try write(r, to: "\(copy)/records.jsonl")
            }
            try await expectDetected(dir, "altered-csv", message: "column(s) data differ") { copy in
                var rows = try lines("\(copy)/events.csv")
                rows[3] = rows[3].replacingOccurrences(of: "amount", with: "amount_")
                try write(rows, to: "\(copy)/events.csv")
            }
            try await expectDetected(dir, "deleted-line", message: "proofs for") { copy in
                var r = try lines("\(copy)/records.jsonl")
                r.remove(at: 7)
                try write(r, to: "\(copy)/records.jsonl")
            }
            try await expectDetected(dir, "swapped-lines", message: "reordered") { copy in
                var r = try lines("\(copy)/records.jsonl")
                var p = try lines("\(copy)/proofs.jsonl")
                r.swapAt(2, 3)
                p.swapAt(2, 3)
                try write(r, to: "\(copy)/records.jsonl")
                try write(p, to: "\(copy)/proofs.jsonl")
            }
            // A forged event with a correct chain hash of its own still has no path to the signed root.
            try await expectDetected(dir, "forged-proof", message: "not lead to snapshot") { copy in
                var p = try lines("\(copy)/proofs.jsonl")
                let object = try JSONSerialization.jsonObject(with: Data(p[4].utf8)) as! [String: Any]
                var path = object["path"] as! [String]
                path[0] = String(repeating: "ab", count: 32)
                var fixed = object
                fixed["path"] = path
                p[4] = String(decoding: try JSONSerialization.data(withJSONObject: fixed), as: UTF8.self)
                try write(p, to: "\(copy)/proofs.jsonl")
            }
            try await expectDetected(dir, "edited-manifest", message: "does not match: the manifest was altered") {
                copy in
                let manifests = try FileManager.default.contentsOfDirectory(atPath: "\(copy)/manifests").sorted()
                let path = "\(copy)/manifests/\(manifests.last!)"
                let text = try String(contentsOfFile: path, encoding: .utf8)
                #expect(text.contains("lode-archiver 0.1.0"))
                try Data(text.replacingOccurrences(of: "lode-archiver 0.1.0", with: "lode-archiver 0.1.1").utf8)
                    .write(to: URL(fileURLWithPath: path))
            }
            try await expectDetected(dir, "missing-manifest", status: 10, message: "not in the bundle") { copy in
                let manifests = try FileManager.default.contentsOfDirectory(atPath: "\(copy)/manifests").sorted()
                try FileManager.default.removeItem(atPath: "\(copy)/manifests/\(manifests.first!)")
            }
            try await expectDetected(
                dir, "wrong-key", status: 12, message: "not among the given public keys", keys: ["stranger.pub"]
            ) { _ in }

            // A tar bundle, and refusal to overwrite.
            try await CLI.ok(["export", "--stream", "account-3", "--output", "one.tar"], in: dir)
            #expect(
                try await CLI.ok(["verify-bundle", "one.tar", "--public-key", "owner.pub"], in: dir).contains(
                    "bundle OK"))
            let again = try await CLI.run(["export", "--stream", "account-3", "--output", "bundle"], in: dir)
            #expect(again.status != 0 && again.stderr.contains("not empty"))
            let noKey = try await CLI.run(["verify-bundle", "bundle"], in: dir)
            #expect(noKey.status != 0 && noKey.stderr.contains("--public-key"))
        }
    }

    @Test func exportOfACutStopsAtIt() async throws {
        try await withTemporaryDirectory { dir in
            try await Self.signedArchive(dir)
            try await CLI.ok(["export", "--to", "first", "--output", "first"], in: dir)
            let records = try jsonLines(try String(contentsOfFile: "\(dir)/first/records.jsonl", encoding: .utf8))
            #expect(records.count == 3000)
            #expect(records.last?["position"] as? Int == 3000)
            try await CLI.ok(["export", "--from", "2990", "--to", "3010", "--output", "window"], in: dir)
            let window = try jsonLines(try String(contentsOfFile: "\(dir)/window/records.jsonl", encoding: .utf8))
            #expect(window.map { $0["position"] as! Int } == Array(2990...3010))
            // Spans two snapshots: both manifests are in the bundle and linked.
            #expect(try FileManager.default.contentsOfDirectory(atPath: "\(dir)/window/manifests").count == 2)
            #expect(
                try await CLI.ok(["verify-bundle", "window", "--public-key", "owner.pub"], in: dir).contains(
                    "21 events"))
        }
    }

    /// `verify --from CUT` checks only the snapshots from the cut on, linked to the one before.
    @Test func incrementalVerifyFromACut() async throws {
        try await withTemporaryDirectory { dir in
            try await Self.signedArchive(dir)
            #expect(try await CLI.ok(["verify", "--from", "first"], in: dir).contains("verify OK: 2 snapshots"))
            #expect(try await CLI.ok(["verify", "--from", "latest"], in: dir).contains("verify OK: 1 snapshots"))
            // Flip a byte of the first snapshot's data: a full verify catches it; --from latest trusts it.
            let tamperer = Tamperer(dir: dir)
            let first = try tamperer.sh("ls archive/datasets/events/segments/*/manifest.json | sort | head -1")
                .trimmingCharacters(in: .whitespacesAndNewlines)
            let file = try tamperer.dataFiles(ofManifest: first).first!
            _ = try tamperer.sh(
                "chmod u+w '\(file)'; cp '\(file)' saved.zst; printf 'X' | dd of='\(file)' bs=1 seek=40 conv=notrunc 2>/dev/null"
            )
            #expect(try await CLI.run(["verify", "--quiet"], in: dir).status == 10)
            #expect(try await CLI.run(["verify", "--from", "latest", "--quiet"], in: dir).status == 0)
            #expect(try await CLI.run(["verify", "--from", "first", "--quiet"], in: dir).status == 10)
            // An edited earlier manifest (checksums fixed up) breaks the link the --from snapshot records.
            _ = try tamperer.sh("cp saved.zst '\(file)'")
            var lines = try tamperer.lines(of: file).filter { !$0.isEmpty }
            lines.removeLast()
            _ = try? tamperer.rewrite(file, lines: lines)
            let link = try await CLI.run(["verify", "--from", "latest"], in: dir)
            #expect(link.status == 10 && link.stderr.contains("parent manifest hash"), "\(link.stderr)")
            let unknown = try await CLI.run(["verify", "--from", "nope"], in: dir)
            #expect(unknown.status == 4)
        }
    }

    /// Steps 1 and 2 of the bundle README, with nothing but hashlib (either record format).
    static let referenceVerifier = #"""
        import hashlib, json, os, sys
        b = sys.argv[1]
        H = lambda x: hashlib.sha256(x).digest()
        manifests = {}
        for name in os.listdir(os.path.join(b, "manifests")):
            m = json.load(open(os.path.join(b, "manifests", name)))
            manifests[m["snapshot_id"]] = m["metadata"]
        records = open(os.path.join(b, "records.jsonl"), "rb").read().split(b"\n")[:-1]
        proofs = [json.loads(l) for l in open(os.path.join(b, "proofs.jsonl"))]
        assert len(records) == len(proofs)
        for line, p in zip(records, proofs):
            record = json.loads(line)
            # Format 1 ends with the record's hash, format 2 with the body's closing brace alone.
            body = line[:line.rindex(b',"hash":"')] if "hash" in record else line[:-1]
            h = H(bytes.fromhex(p["previous"]) + body)
            assert "hash" not in record or h.hex() == record["hash"], "chain"
            r = H(b"\x00" + h)
            fn, sn = p["index"], p["size"] - 1
            for s in p["path"]:
                s = bytes.fromhex(s)
                assert sn != 0
                if fn & 1 or fn == sn:
                    r = H(b"\x01" + s + r)
                    while not fn & 1 and fn != 0:
                        fn >>= 1; sn >>= 1
                else:
                    r = H(b"\x01" + r + s)
                fn >>= 1; sn >>= 1
            meta = manifests[p["snapshot"]]
            assert sn == 0 and r.hex() == meta["archiver.records_root"], "path"
            assert int(meta["archiver.event_count"]) == p["size"]
        print("reference OK", len(records))
        """#
}
