import Foundation
import Testing

/// Tampering that the per-frame index of format 2 manifests catches: each case is fixed up (sizes, MD5s) so that
/// every older check passes, and `verify` must name the object and the frame.
@Suite struct FrameIndexTamperTests {
    /// Events of two categories strictly alternating, every record the same size: each snapshot has two files whose
    /// frames hold the same number of records, so frame k of one file and frame k of the other cover interleaved
    /// positions, and swapping them keeps every position in order.
    static func alternatingEvents(_ count: Int) -> String {
        let note = String(repeating: "lorem ipsum dolor sit amet ", count: 80)
        return (0..<count).map { i in
            let stream = i % 2 == 0 ? "alpha-1" : "bravo-1"
            let n = String(repeating: "0", count: 6 - String(i).count) + String(i)
            return #"{"stream":"\#(stream)","type":"Noted","data":{"n":"\#(n)","note":"\#(note)"}}"#
        }.joined(separator: "\n") + "\n"
    }

    /// One snapshot of two files of at least three frames each; returns the canonical manifest, its files and
    /// their frame offsets (from the manifest).
    static func makeArchive(in dir: String) async throws -> (manifest: String, files: [String], offsets: [[Int]]) {
        try await CLI.ok(["init"], in: dir)
        try await CLI.ok(["append"], in: dir, input: alternatingEvents(3_600))
        try await CLI.ok(["flush", "--quiet"], in: dir)
        #expect(try await CLI.ok(["verify"], in: dir).hasPrefix("verify OK"))
        let manifest = try #require(try FormatV2Tests.hiveManifests(dir).first)
        let files = try Tamperer(dir: dir).dataFiles(ofManifest: manifest)
        let metadata = try #require(try FormatV2Tests.manifestMetadata(dir).first)
        let offsets = try #require(metadata["archiver.frame_offsets"] as? String).split(separator: " ").map {
            $0.split(separator: ",").map { Int($0)! }
        }
        try #require(files.count == 2 && offsets.count == 2 && offsets.allSatisfy { $0.count >= 3 })
        return (manifest, files, offsets)
    }

    /// Replaces `key`'s value in every manifest copy that holds it (the canonical one and its partition copies).
    static func editMetadata(_ dir: String, key: String, _ edit: (String) -> String) throws {
        let t = Tamperer(dir: dir)
        for copy in try t.sh("grep -rl --include=manifest.json '\(key)' archive").split(separator: "\n") {
            try t.editManifest(String(copy)) { object in
                var metadata = object["metadata"] as! [String: Any]
                metadata[key] = edit(metadata[key] as! String)
                object["metadata"] = metadata
            }
        }
    }

    /// Sets the sizes and MD5s of `files` in every manifest copy to their current bytes.
    static func refreshChecksums(_ dir: String, _ files: [String]) throws {
        let t = Tamperer(dir: dir)
        let copies = try t.sh("grep -rl --include=manifest.json 'data.zst' archive").split(separator: "\n")
        for file in files {
            let md5 = String(try t.sh("md5sum '\(file)'").prefix(32))
            let size = try FileManager.default.attributesOfItem(atPath: dir + "/" + file)[.size] as! Int
            for copy in copies {
                try t.editManifest(String(copy)) { object in
                    var entries = object["files"] as! [[String: Any]]
                    for i in entries.indices where "archive/" + (entries[i]["path"] as! String) == file {
                        entries[i]["checksum"] = md5
                        entries[i]["size_bytes"] = size
                    }
                    object["files"] = entries
                }
            }
        }
    }

    /// The stored bytes of each frame of `file`, split at `offsets`.
    static func frames(of file: String, in dir: String, offsets: [Int]) throws -> [Data] {
        let bytes = try Data(contentsOf: URL(fileURLWithPath: dir + "/" + file))
        return offsets.indices.map { i in bytes[offsets[i]..<(i + 1 < offsets.count ? offsets[i + 1] : bytes.count)] }
    }

    static func write(_ frames: [Data], to file: String, in dir: String) throws {
        _ = try Tamperer(dir: dir).sh("chmod u+w '\(file)'")
        try frames.reduce(Data(), +).write(to: URL(fileURLWithPath: dir + "/" + file))
    }

    /// Replaces the second frame's entry of the first file in a per-frame metadata list.
    static func replacingSecondEntry(_ value: String, with replacement: String) -> String {
        var files = value.split(separator: " ").map { $0.split(separator: ",").map(String.init) }
        files[0][1] = replacement
        return files.map { $0.joined(separator: ",") }.joined(separator: " ")
    }

    @Test(arguments: [
        ("archiver.frame_chain_starts", "frame chain values were altered"),
        ("archiver.frame_sha256", "frame digests were altered"),
    ])
    func editedIndexEntryIsCaught(key: String, explanation: String) async throws {
        try await withTemporaryDirectory { dir in
            let archive = try await Self.makeArchive(in: dir)
            try Self.editMetadata(dir, key: key) {
                Self.replacingSecondEntry($0, with: String(repeating: "ab", count: 32))
            }
            try await TamperTests().expectDetected(
                dir, mentioning: [String(archive.files[0].dropFirst(8)), "frame 1", explanation])
        }
    }

    /// The second frames of the two files swapped: the records merged by position, the chain, the records tree and
    /// each file's first and last records are unchanged, so only the frame index tells.
    @Test func framesSwappedBetweenFilesAreCaught() async throws {
        try await withTemporaryDirectory { dir in
            let archive = try await Self.makeArchive(in: dir)
            var a = try Self.frames(of: archive.files[0], in: dir, offsets: archive.offsets[0])
            var b = try Self.frames(of: archive.files[1], in: dir, offsets: archive.offsets[1])
            (a[1], b[1]) = (b[1], a[1])
            try Self.write(a, to: archive.files[0], in: dir)
            try Self.write(b, to: archive.files[1], in: dir)
            try Self.refreshChecksums(dir, archive.files)
            try await TamperTests().expectDetected(
                dir, mentioning: [String(archive.files[0].dropFirst(8)), "frames were moved, swapped"])
        }
    }

    /// The last frame re-encoded at another level: the same records, so the same chain, but other stored bytes.
    @Test func reencodedFrameIsCaughtByItsDigest() async throws {
        try await withTemporaryDirectory { dir in
            let archive = try await Self.makeArchive(in: dir)
            var frames = try Self.frames(of: archive.files[0], in: dir, offsets: archive.offsets[0])
            try frames.last!.write(to: URL(fileURLWithPath: dir + "/last.zst"))
            _ = try Tamperer(dir: dir).sh(
                "zstd -q -dc last.zst > last.plain && zstd -q --fast=1 last.plain -o again.zst")
            let again = try Data(contentsOf: URL(fileURLWithPath: dir + "/again.zst"))
            try #require(again != frames.last!)
            frames[frames.count - 1] = again
            try Self.write(frames, to: archive.files[0], in: dir)
            try Self.refreshChecksums(dir, archive.files)
            try await TamperTests().expectDetected(
                dir,
                mentioning: [
                    String(archive.files[0].dropFirst(8)), "frame \(frames.count - 1)", "frame's bytes were altered",
                ])
        }
    }

    /// A byte of a middle frame flipped, the object's MD5 fixed up: the frame no longer decodes (zstd's frame
    /// checksum), an unreadable object (exit 11) named as such.
    @Test func editedFrameBytesAreCaught() async throws {
        try await withTemporaryDirectory { dir in
            let archive = try await Self.makeArchive(in: dir)
            let file = archive.files[1]
            let seek = archive.offsets[1][1] + 200
            _ = try Tamperer(dir: dir).sh(
                "chmod u+w '\(file)'; printf 'X' | dd of='\(file)' bs=1 seek=\(seek) conv=notrunc 2>/dev/null")
            try Self.refreshChecksums(dir, [file])
            try await TamperTests().expectDetected(
                dir, status: 11, mentioning: [String(file.dropFirst(8)), "does not decompress"])
        }
    }

    /// A format 2 snapshot written before the frame index existed (the three keys absent) reads and verifies as
    /// before: whole objects by their MD5, the chain recomputed.
    @Test func aSnapshotWithoutTheIndexStillVerifies() async throws {
        try await withTemporaryDirectory { dir in
            _ = try await Self.makeArchive(in: dir)
            let t = Tamperer(dir: dir)
            let copies = try t.sh("grep -rl --include=manifest.json 'archiver.frame_offsets' archive")
            for copy in copies.split(separator: "\n") {
                try t.editManifest(String(copy)) { object in
                    var metadata = object["metadata"] as! [String: Any]
                    for key in ["archiver.frame_offsets", "archiver.frame_chain_starts", "archiver.frame_sha256"] {
                        metadata[key] = nil
                    }
                    object["metadata"] = metadata
                }
            }
            #expect(try await CLI.ok(["verify"], in: dir).hasPrefix("verify OK"))
            try await CLI.ok(["prune", "--before", "latest", "--without-drill"], in: dir)
            let read = try await CLI.ok(["read", "--stream", "bravo-1", "--limit", "2"], in: dir)
            #expect(read.contains(#""n":"000001""#) && read.contains(#""n":"000003""#), "\(read)")
        }
    }

    /// Compaction indexes the frames of the generation snapshots it writes, and `verify` checks them.
    @Test func compactionWritesAFrameIndexThatVerifies() async throws {
        try await withTemporaryDirectory { dir in
            try await CLI.ok(["init"], in: dir)
            try await CLI.ok(["append"], in: dir, input: Self.alternatingEvents(2_400))
            try await CLI.ok(["flush", "--target-size", "512KiB", "--quiet"], in: dir)
            try await CLI.ok(["compact", "--target-size", "64MiB", "--quiet"], in: dir)
            let t = Tamperer(dir: dir)
            let generation = try t.sh("grep -rl --include=manifest.json 'archiver.frame_offsets' archive | grep gen")
            let manifest = try #require(generation.split(separator: "\n").first.map(String.init))
            let object = try JSONSerialization.jsonObject(
                with: Data(contentsOf: URL(fileURLWithPath: dir + "/" + manifest)))
            let metadata = (object as! [String: Any])["metadata"] as! [String: Any]
            let offsets = try #require(metadata["archiver.frame_offsets"] as? String)
            #expect(offsets.split(separator: " ").allSatisfy { $0.split(separator: ",").count >= 2 }, "\(offsets)")
            #expect(try await CLI.ok(["verify"], in: dir).hasPrefix("verify OK"))
        }
    }

    /// docs/FORMAT.md's hand procedure, run as written on files of several frames: it checks each frame's digest
    /// and frame-start chain value, and fails once two frames are swapped between files.
    @Test func theDocumentedProcedureChecksEachFrame() async throws {
        try await withTemporaryDirectory { dir in
            let archive = try await Self.makeArchive(in: dir)
            let docs = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
                .deletingLastPathComponent().appendingPathComponent("docs/FORMAT.md").path
            let run = "python3 - '\(docs)' 2>stderr.txt <<'EOF'\n\(FormatV2Tests.runDocumentedProcedure)\nEOF"
            let head = try #require(try FormatV2Tests.manifestMetadata(dir).first?["archiver.chain_head"] as? String)
            #expect(try Tamperer(dir: dir).sh(run).trimmingCharacters(in: .whitespacesAndNewlines) == head)
            var a = try Self.frames(of: archive.files[0], in: dir, offsets: archive.offsets[0])
            var b = try Self.frames(of: archive.files[1], in: dir, offsets: archive.offsets[1])
            (a[1], b[1]) = (b[1], a[1])
            try Self.write(a, to: archive.files[0], in: dir)
            try Self.write(b, to: archive.files[1], in: dir)
            #expect(throws: (any Error).self) { try Tamperer(dir: dir).sh(run) }
            #expect(try String(contentsOfFile: dir + "/stderr.txt", encoding: .utf8).contains("AssertionError"))
        }
    }

    /// A cold read of a whole snapshot (paging all events of a pruned store) checks each frame's starting chain
    /// value too: an edited one is a read error naming the object, and no event is printed.
    @Test func aColdReadChecksFrameStartChainValues() async throws {
        try await withTemporaryDirectory { dir in
            let archive = try await Self.makeArchive(in: dir)
            try await CLI.ok(["prune", "--before", "latest", "--without-drill"], in: dir)
            try Self.editMetadata(dir, key: "archiver.frame_chain_starts") {
                Self.replacingSecondEntry($0, with: String(repeating: "cd", count: 32))
            }
            let read = try await CLI.run(["read", "--all"], in: dir)
            #expect(read.status == 10 && read.stdout.isEmpty, "\(read.status): \(read.stderr)")
            #expect(read.stderr.contains(String(archive.files[0].dropFirst(8))), "\(read.stderr)")
            #expect(read.stderr.contains("frame chain values were altered"), "\(read.stderr)")
        }
    }
}
