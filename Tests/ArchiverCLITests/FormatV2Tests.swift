import Foundation
import Testing

/// Record format 2 (records without their `hash` member) against format 1 on the same events, and the tampering
/// that per-file chain values catch.
@Suite struct FormatV2Tests {
    /// Events of two categories interleaved, so each category-day snapshot has two files whose records alternate
    /// in the chain.
    static func twoCategoryEvents(_ count: Int, offset: Int = 0) -> String {
        (0..<count).map { i in
            let n = i + offset
            let stream = n % 3 == 0 ? "card-\(n % 5)" : "account-\(n % 7)"
            return #"{"stream":"\#(stream)","type":"MoneyDeposited","data":{"amount":\#(n)}}"#
        }.joined(separator: "\n") + "\n"
    }

    /// The store `a/` appended once and copied to `b/`, so both hold the same events (ids and times included);
    /// `a` is flushed in format 1, `b` in format 2.
    static func twinArchives(_ root: String) async throws -> (v1: String, v2: String) {
        let (a, b) = (root + "/a", root + "/b")
        try FileManager.default.createDirectory(atPath: a, withIntermediateDirectories: true)
        try await CLI.ok(["init"], in: a)
        try await CLI.ok(["append"], in: a, input: twoCategoryEvents(900))
        try FileManager.default.copyItem(atPath: a, toPath: b)
        for (dir, format) in [(a, "1"), (b, "2")] {
            try await CLI.ok(["flush", "--target-size", "16KiB", "--archive-format", format, "--quiet"], in: dir)
        }
        return (a, b)
    }

    /// The canonical manifests of a hive-partitioned archive, oldest first.
    static func hiveManifests(_ dir: String) throws -> [String] {
        try Tamperer(dir: dir).sh("ls -d archive/datasets/events/segments/*/manifest.json | sort")
            .split(separator: "\n").map(String.init)
    }

    static func manifestMetadata(_ dir: String) throws -> [[String: Any]] {
        try hiveManifests(dir).map { path in
            let object = try JSONSerialization.jsonObject(
                with: Data(contentsOf: URL(fileURLWithPath: dir + "/" + path)))
            return (object as! [String: Any])["metadata"] as! [String: Any]
        }
    }

    /// Every stored record, decompressed with the zstd tool, sorted; v1 lines with their hash member cut off.
    static func storedRecords(_ dir: String) throws -> [String] {
        let text = try Tamperer(dir: dir).sh("find archive -name 'data*.zst' -print0 | xargs -0 zstdcat")
        return text.split(separator: "\n").map { line in
            guard let cut = line.range(of: #","hash":""#, options: .backwards) else { return String(line) }
            return String(line[..<cut.lowerBound]) + "}"
        }.sorted()
    }

    /// Runs the Python block of docs/FORMAT.md over each canonical manifest, oldest first.
    static let runDocumentedProcedure = #"""
        import glob, re, sys
        exec(re.search(r"```python\n(.*?)```", open(sys.argv[1]).read(), re.S).group(1))
        for manifest in sorted(glob.glob("archive/datasets/events/segments/*/manifest.json")):
            print(chain(manifest))
        """#

    @Test func v1AndV2ArchivesOfTheSameEventsAgree() async throws {
        try await withTemporaryDirectory { root in
            let (a, b) = try await Self.twinArchives(root)
            let (one, two) = (try await CompactTests.results(a), try await CompactTests.results(b))
            #expect(one.replay == two.replay && one.inside == two.inside && !one.replay.isEmpty)
            #expect(one.verified == two.verified, "same events, positions and chain head")

            // Same snapshots, same chain values and records roots; only the format and the per-file values differ.
            let (m1, m2) = (try Self.manifestMetadata(a), try Self.manifestMetadata(b))
            #expect(m1.count == m2.count && m1.count > 3)
            for (x, y) in zip(m1, m2) {
                #expect(x["archiver.format"] as? String == "1" && y["archiver.format"] as? String == "2")
                for key in ["archiver.chain_start", "archiver.chain_head", "archiver.records_root"] {
                    #expect(x[key] as? String == y[key] as? String, "\(key)")
                }
                #expect(x["archiver.file_chain_starts"] == nil)
                let starts = try #require(y["archiver.file_chain_starts"] as? String).split(separator: " ")
                #expect(starts.count == 2 && starts.allSatisfy { $0.count == 64 })
            }

            // The stored records are the same bodies; v2's carry no hash and stay plain JSON for jq.
            let (r1, r2) = (try Self.storedRecords(a), try Self.storedRecords(b))
            #expect(r1.count == 900 && r1 == r2)
            #expect(!r2.contains { $0.contains(#""hash":"#) })
            let positions = try Tamperer(dir: b).sh(
                "find archive -name 'data*.zst' -print0 | xargs -0 zstdcat | jq -c .position | sort -n | tail -1")
            #expect(positions.trimmingCharacters(in: .whitespacesAndNewlines) == "900")

            // docs/FORMAT.md's hand procedure, run as written, recomputes every snapshot's chain and file values.
            let docs = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
                .deletingLastPathComponent().appendingPathComponent("docs/FORMAT.md").path
            let procedure = try Tamperer(dir: b).sh(
                "python3 - '\(docs)' <<'EOF'\n\(Self.runDocumentedProcedure)\nEOF")
            let heads = procedure.split(separator: "\n").map(String.init)
            #expect(heads == m2.map { $0["archiver.chain_head"] as? String ?? "" })

            // Export: the same proofs, records that differ only by the hash member; both pass the hand procedure.
            for dir in [a, b] { try await CLI.ok(["export", "--category", "card", "--output", "bundle"], in: dir) }
            // (Snapshot ids are flush times: they differ between the two archives.)
            func proofs(_ dir: String) throws -> [NSDictionary] {
                try jsonLines(try String(contentsOfFile: dir + "/bundle/proofs.jsonl", encoding: .utf8)).map {
                    var proof = $0
                    proof["snapshot"] = nil
                    return proof as NSDictionary
                }
            }
            #expect(try proofs(a) == proofs(b) && (try proofs(a)).count == 300)
            for dir in [a, b] {
                let reference = try Tamperer(dir: dir).sh(
                    "python3 - bundle <<'EOF'\n\(ExportTests.referenceVerifier)\nEOF")
                #expect(reference.trimmingCharacters(in: .whitespacesAndNewlines) == "reference OK 300")
            }

            // Cold reads (the hot copies pruned) deliver the same events.
            var cold: [String] = []
            for dir in [a, b] {
                try await CLI.ok(["prune", "--before", "latest", "--without-drill"], in: dir)
                cold.append(try await CLI.ok(["read", "--all", "--limit", "100000"], in: dir))
            }
            #expect(cold[0] == cold[1] && cold[0].split(separator: "\n").count == 900)

            // Restore into fresh stores: the same events.
            var restored: [String] = []
            for dir in [a, b] {
                try await CLI.ok(["restore", "--to", "latest", "--into", "sqlite:restored.db"], in: dir)
                restored.append(
                    try await CLI.ok(["read", "--all", "--limit", "100000", "--store", "sqlite:restored.db"], in: dir))
            }
            #expect(restored[0] == restored[1] && restored[0].split(separator: "\n").count == 900)

            // Compaction keeps each format and every result.
            for dir in [a, b] { try await CLI.ok(["compact", "--quiet"], in: dir) }
            let (c1, c2) = (try await CompactTests.results(a), try await CompactTests.results(b))
            #expect(c1.replay == one.replay && c2.replay == two.replay && c1.verified == c2.verified)
        }
    }

    /// An archive keeps its format: flushing a v1 archive with the v2 default still writes v1.
    @Test func aV1ArchiveStaysV1WhenFlushedFurther() async throws {
        try await withTemporaryDirectory { dir in
            try await CLI.ok(["init"], in: dir)
            try await CLI.ok(["append"], in: dir, input: Self.twoCategoryEvents(50))
            try await CLI.ok(["flush", "--archive-format", "1", "--quiet"], in: dir)
            try await CLI.ok(["append"], in: dir, input: Self.twoCategoryEvents(50, offset: 50))
            try await CLI.ok(["flush", "--quiet"], in: dir)
            let formats = try Self.manifestMetadata(dir).map { $0["archiver.format"] as? String }
            #expect(formats == ["1", "1"])
            #expect(try await CLI.ok(["verify"], in: dir).hasPrefix("verify OK"))
            let bad = try await CLI.run(["flush", "--archive-format", "3"], in: dir)
            #expect(bad.status != 0 && bad.stderr.contains("--archive-format '3' is not 1 or 2"), "\(bad.stderr)")
        }
    }

    /// The head manifest (no later manifest links to it) with an edited per-file chain value.
    @Test(arguments: ["archiver.file_chain_starts", "archiver.file_chain_heads"])
    func editedFileChainValueIsCaught(key: String) async throws {
        try await withTemporaryDirectory { dir in
            try await TamperTests().makeArchive(in: dir, format: "2")
            let t = Tamperer(dir: dir)
            try t.editManifest(try t.manifests()[2]) { object in
                var metadata = object["metadata"] as! [String: Any]
                metadata[key] = String(repeating: "ab", count: 32)
                object["metadata"] = metadata
            }
            try await TamperTests().expectDetected(dir, mentioning: ["file chain values were altered"])
        }
    }

    /// A record given a `hash` member in a format 2 snapshot: its body, and so the chain, is unchanged, but a
    /// snapshot never mixes formats.
    @Test func aRecordWithAHashMemberInAV2SnapshotIsCaught() async throws {
        try await withTemporaryDirectory { dir in
            try await TamperTests().makeArchive(in: dir, format: "2")
            let t = Tamperer(dir: dir)
            let file = try t.dataFiles(ofManifest: try t.manifests()[1])[0]
            var lines = try t.lines(of: file)
            lines[5] = String(lines[5].dropLast()) + #","hash":""# + String(repeating: "0", count: 64) + #""}"#
            try t.rewrite(file, lines: lines)
            try await TamperTests().expectDetected(dir, mentioning: ["line 6", "never mixes formats"])
        }
    }

    /// Two files of one snapshot with their contents swapped (sizes and MD5s fixed up): the records merged by
    /// position are unchanged, so only the per-file chain values tell.
    @Test func swappedFileContentsAreCaught() async throws {
        try await withTemporaryDirectory { dir in
            try await CLI.ok(["init"], in: dir)
            try await CLI.ok(["append"], in: dir, input: Self.twoCategoryEvents(60))
            try await CLI.ok(["flush", "--quiet"], in: dir)
            #expect(try await CLI.ok(["verify"], in: dir).hasPrefix("verify OK"))
            let t = Tamperer(dir: dir)
            let files = try t.dataFiles(ofManifest: try #require(try Self.hiveManifests(dir).first))
            try #require(files.count == 2)
            _ = try t.sh(
                "chmod u+w '\(files[0])' '\(files[1])' && cp '\(files[0])' swap.tmp && cat '\(files[1])' > '\(files[0])' "
                    + "&& cat swap.tmp > '\(files[1])'")
            // Both files' sizes and MD5s in every manifest copy at once (a rewritten manifest escapes its slashes,
            // so `Tamperer.refreshChecksums` finds each copy only once).
            try FrameIndexTamperTests.refreshChecksums(dir, files)
            try await TamperTests().expectDetected(dir, mentioning: ["swapped"])
        }
    }
}
