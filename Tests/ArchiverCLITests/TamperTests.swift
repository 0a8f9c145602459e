import Foundation
import Testing

/// An attacker's toolbox: edit archive objects and fix up what a careless check would trust
/// (sizes and MD5s in manifests), then expect `verify` to name the problem.
struct Tamperer {
    let dir: String
    var archive: String { dir + "/archive" }

    func sh(_ command: String) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/sh")
        process.arguments = ["-c", command]
        process.currentDirectoryURL = URL(fileURLWithPath: dir)
        let pipe = Pipe()
        process.standardOutput = pipe
        try process.run()
        let out = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else { throw CocoaError(.fileReadUnknown) }
        return String(decoding: out, as: UTF8.self)
    }

    /// Canonical manifests, oldest first (ids are increasing timestamps).
    func manifests() throws -> [String] {
        try sh("ls -d archive/datasets/events/snapshots/*/manifest.json | sort").split(separator: "\n").map(String.init)
    }

    func dataFiles(ofManifest manifest: String) throws -> [String] {
        let object = try JSONSerialization.jsonObject(
            with: Data(contentsOf: URL(fileURLWithPath: dir + "/" + manifest)))
        let files = (object as! [String: Any])["files"] as! [[String: Any]]
        return files.map { "archive/" + ($0["path"] as! String) }
    }

    func lines(of dataFile: String) throws -> [String] {
        try sh("zstd -dc '\(dataFile)'").split(separator: "\n").map(String.init)
    }

    /// Rewrites a data file with new lines and fixes size and MD5 in every manifest copy that lists it.
    func rewrite(_ dataFile: String, lines: [String]) throws {
        let text = lines.joined(separator: "\n") + "\n"
        try Data(text.utf8).write(to: URL(fileURLWithPath: dir + "/\(dataFile).plain"))
        _ = try sh("chmod u+w '\(dataFile)'; zstd -q -f '\(dataFile).plain' -o '\(dataFile)' && rm '\(dataFile).plain'")
        try refreshChecksums(for: dataFile)
    }

    func refreshChecksums(for dataFile: String) throws {
        let md5 = String(try sh("md5sum '\(dataFile)'").prefix(32))
        let size = try FileManager.default.attributesOfItem(atPath: dir + "/" + dataFile)[.size] as! Int
        let key = String(dataFile.dropFirst("archive/".count))
        for manifest in try sh("grep -rl --include=manifest.json '\(key)' archive").split(separator: "\n") {
            try editManifest(String(manifest)) { object in
                var files = object["files"] as! [[String: Any]]
                for i in files.indices where files[i]["path"] as? String == key {
                    files[i]["checksum"] = md5
                    files[i]["size_bytes"] = size
                }
                object["files"] = files
            }
        }
    }

    func editManifest(_ manifest: String, _ edit: (inout [String: Any]) -> Void) throws {
        let url = URL(fileURLWithPath: dir + "/" + manifest)
        var object = try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as! [String: Any]
        edit(&object)
        _ = try sh("chmod u+w '\(manifest)'")
        try JSONSerialization.data(withJSONObject: object, options: [.prettyPrinted, .sortedKeys]).write(to: url)
    }
}

@Suite struct TamperTests {
    /// Both record formats: every data tampering is caught in each.
    static let formats = ["1", "2"]

    /// An archive of three snapshots, unpartitioned so each snapshot has one segment.
    func makeArchive(in dir: String, format: String = "2", signed: Bool = false) async throws {
        try await CLI.ok(["init"], in: dir)
        if signed { try await CLI.ok(["keys", "generate", "--out", "k1"], in: dir) }
        let signing = signed ? ["--signing-key", "k1.key"] : []
        for seed in 1...3 {
            try await CLI.ok(["append"], in: dir, input: bankEvents(events: 200, accounts: 10, seed: UInt64(seed)))
            try await CLI.ok(
                ["flush", "--partitioning", "none", "--archive-format", format, "--quiet"] + signing, in: dir)
        }
        #expect(try await CLI.ok(["verify"], in: dir).hasPrefix("verify OK"))
    }

    func expectDetected(
        _ dir: String, status: Int32 = 10, mentioning words: [String], extra: [String] = [],
        sourceLocation: SourceLocation = #_sourceLocation
    ) async throws {
        let result = try await CLI.run(["verify"] + extra, in: dir)
        #expect(
            result.status == status, "verify exited \(result.status): \(result.stderr)", sourceLocation: sourceLocation)
        for word in words {
            #expect(
                result.stderr.contains(word) || result.stdout.contains(word), "expected '\(word)' in: \(result.stderr)",
                sourceLocation: sourceLocation)
        }
    }

    @Test(arguments: Self.formats)
    func flippedByteInASegment(format: String) async throws {
        try await withTemporaryDirectory { dir in
            try await makeArchive(in: dir, format: format)
            let t = Tamperer(dir: dir)
            let file = try t.dataFiles(ofManifest: try t.manifests()[1])[0]
            _ = try t.sh("chmod u+w '\(file)'; printf 'X' | dd of='\(file)' bs=1 seek=20 conv=notrunc 2>/dev/null")
            try await expectDetected(dir, mentioning: ["MD5", String(file.dropFirst(8))])
        }
    }

    @Test(arguments: Self.formats)
    func deletedLineWithFixedChecksum(format: String) async throws {
        try await withTemporaryDirectory { dir in
            try await makeArchive(in: dir, format: format)
            let t = Tamperer(dir: dir)
            let file = try t.dataFiles(ofManifest: try t.manifests()[1])[0]
            var lines = try t.lines(of: file)
            lines.remove(at: 17)
            try t.rewrite(file, lines: lines)
            try await expectDetected(dir, mentioning: ["hash"])
        }
    }

    @Test(arguments: Self.formats)
    func swappedLinesWithFixedChecksum(format: String) async throws {
        try await withTemporaryDirectory { dir in
            try await makeArchive(in: dir, format: format)
            let t = Tamperer(dir: dir)
            let file = try t.dataFiles(ofManifest: try t.manifests()[0])[0]
            var lines = try t.lines(of: file)
            lines.swapAt(3, 4)
            try t.rewrite(file, lines: lines)
            // v1 fails line 4's stored hash; v2 stores none and fails line 5's position (records hash only as a
            // chain, so the order check comes first).
            try await expectDetected(dir, mentioning: format == "1" ? ["line 4"] : ["line 5", "reordered"])
        }
    }

    @Test(arguments: Self.formats)
    func insertedForgedEventWithFixedChecksum(format: String) async throws {
        try await withTemporaryDirectory { dir in
            try await makeArchive(in: dir, format: format)
            let t = Tamperer(dir: dir)
            let file = try t.dataFiles(ofManifest: try t.manifests()[2])[0]
            var lines = try t.lines(of: file)
            // A forged copy of the last record with a new amount, appended at the end.
            let forged = lines.last!.replacingOccurrences(of: #""amount":"#, with: #""amount":999999"#)
            lines.append(forged)
            try t.rewrite(file, lines: lines)
            try await expectDetected(dir, mentioning: ["snapshot"])
        }
    }

    @Test(arguments: Self.formats)
    func segmentReplacedByAnotherValidSegment(format: String) async throws {
        try await withTemporaryDirectory { dir in
            try await makeArchive(in: dir, format: format)
            let t = Tamperer(dir: dir)
            let manifests = try t.manifests()
            let victim = try t.dataFiles(ofManifest: manifests[1])[0]
            let donor = try t.dataFiles(ofManifest: manifests[0])[0]
            _ = try t.sh("chmod u+w '\(victim)'; cp '\(donor)' '\(victim)'")
            try t.refreshChecksums(for: victim)
            try await expectDetected(dir, mentioning: ["chain"])
        }
    }

    @Test(arguments: Self.formats)
    func wholeSnapshotRemoved(format: String) async throws {
        try await withTemporaryDirectory { dir in
            try await makeArchive(in: dir, format: format)
            let t = Tamperer(dir: dir)
            let middle = try t.manifests()[1]
            _ = try t.sh("rm -rf \"$(dirname '\(middle)')\"")
            let result = try await CLI.run(["verify"], in: dir)
            #expect(result.status == 10 || result.status == 11, "\(result.stderr)")
            #expect(result.stderr.contains(String(middle.split(separator: "/")[4])), "\(result.stderr)")
        }
    }

    @Test func editedManifestIsCaughtByTheNextManifest() async throws {
        try await withTemporaryDirectory { dir in
            try await makeArchive(in: dir)
            let t = Tamperer(dir: dir)
            try t.editManifest(try t.manifests()[0]) { object in
                var metadata = object["metadata"] as! [String: Any]
                metadata["archiver.cut_name"] = "forged"
                object["metadata"] = metadata
            }
            try await expectDetected(dir, mentioning: ["parent manifest hash"])
        }
    }

    @Test func editedHeadManifestIsCaughtBySignature() async throws {
        try await withTemporaryDirectory { dir in
            try await makeArchive(in: dir, signed: true)
            #expect(try await CLI.ok(["verify", "--trusted-key", "k1.pub"], in: dir).hasPrefix("verify OK"))
            let t = Tamperer(dir: dir)
            try t.editManifest(try t.manifests()[2]) { object in
                var metadata = object["metadata"] as! [String: Any]
                metadata["archiver.cut_name"] = "forged"
                object["metadata"] = metadata
            }
            try await expectDetected(dir, mentioning: ["signature"], extra: ["--trusted-key", "k1.pub"])
        }
    }

    @Test func manifestResignedWithAnUntrustedKey() async throws {
        try await withTemporaryDirectory { dir in
            try await makeArchive(in: dir, signed: true)
            try await CLI.ok(["keys", "generate", "--out", "mallory"], in: dir)
            // Mallory signs a fourth snapshot with her own key.
            try await CLI.ok(["append"], in: dir, input: bankEvents(events: 20, accounts: 3, seed: 77))
            try await CLI.ok(["flush", "--quiet", "--signing-key", "mallory.key"], in: dir)
            try await expectDetected(
                dir, status: 12, mentioning: ["not among the trusted"], extra: ["--trusted-key", "k1.pub"])
            // With both keys trusted (a rotation), it passes.
            #expect(
                try await CLI.ok(["verify", "--trusted-key", "k1.pub", "--trusted-key", "mallory.pub"], in: dir)
                    .hasPrefix("verify OK"))
        }
    }

    /// Someone with write access to the archive rebuilds the whole history consistently (new chain, new
    /// manifests): only the anchor published earlier catches it.
    @Test func consistentRewriteIsCaughtOnlyByTheAnchor() async throws {
        try await withTemporaryDirectory { dir in
            try await makeArchive(in: dir)
            try await CLI.ok(["anchor", "--append", "anchors.jsonl"], in: dir)
            #expect(try await CLI.ok(["verify", "--anchor", "anchors.jsonl"], in: dir).hasPrefix("verify OK"))
            // The rewrite: a fresh store with a forged history, flushed into a fresh archive that replaces it.
            let t = Tamperer(dir: dir)
            _ = try t.sh("rm -rf archive archiver.db*")
            try await CLI.ok(["init"], in: dir)
            for seed in 1...3 {
                try await CLI.ok(
                    ["append"], in: dir,
                    input: bankEvents(events: 200, accounts: 10, seed: UInt64(seed), firstDeposit: 1))
                try await CLI.ok(["flush", "--partitioning", "none", "--quiet"], in: dir)
            }
            #expect(try await CLI.ok(["verify"], in: dir).hasPrefix("verify OK"))
            try await expectDetected(dir, mentioning: ["rewritten"], extra: ["--anchor", "anchors.jsonl"])
        }
    }
}
