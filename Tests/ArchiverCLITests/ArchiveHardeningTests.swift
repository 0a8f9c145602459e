import Foundation
import Testing

/// Faults found by an adversarial run, hit as a user would: a real `archiver` process on real files.
@Suite struct ArchiveHardeningTests {
    let tamper = TamperTests()

    /// The snapshot ids, oldest first.
    func snapshotIDs(_ t: Tamperer) throws -> [String] {
        try t.manifests().map { $0.split(separator: "/").dropLast().last.map(String.init)! }
    }

    func pointer(_ dir: String) throws -> String {
        try String(contentsOfFile: dir + "/archive/datasets/events/latest", encoding: .utf8)
    }

    @Test func rolledBackPointerHidesNothingIsReportedAndNeverForks() async throws {
        try await withTemporaryDirectory { dir in
            try await tamper.makeArchive(in: dir)
            let t = Tamperer(dir: dir)
            let ids = try snapshotIDs(t)
            #expect(ids.count == 3)
            try ids[1].write(toFile: dir + "/archive/datasets/events/latest", atomically: false, encoding: .utf8)

            try await tamper.expectDetected(dir, mentioning: ["latest pointer", ids[1], ids[2], "verify --repair"])
            let list = try await CLI.run(["cut", "list", "--all"], in: dir)
            #expect(list.status == 0 && list.stdout.contains(ids[2]), "\(list.stdout)")
            #expect(list.stderr.contains("WARNING") && list.stderr.contains("rolled back"))
            let restore = try await CLI.run(["restore", "--to", "latest", "--into", "sqlite:restored.db"], in: dir)
            #expect(restore.status == 0, "\(restore.stderr)")
            #expect(restore.stdout.contains("restored 600 events") && restore.stdout.contains(ids[2]))
            #expect(restore.stderr.contains("WARNING"))

            // The next flush commits after the real head and moves the pointer: one linear history.
            try await CLI.ok(["append"], in: dir, input: bankEvents(events: 50, accounts: 5, seed: 9))
            let flush = try await CLI.run(["flush", "--partitioning", "none"], in: dir)
            #expect(flush.status == 0, "\(flush.stderr)")
            #expect(flush.stderr.contains("rolled back"))
            let after = try snapshotIDs(t)
            #expect(after.count == 4 && Array(after.prefix(3)) == ids)
            #expect(try pointer(dir) == after[3])
            let verify = try await CLI.ok(["verify"], in: dir)
            #expect(verify.hasPrefix("verify OK: 4 snapshots") && verify.contains("650 events"), "\(verify)")
        }
    }

    @Test func verifyRepairMovesARolledBackPointerToTheHead() async throws {
        try await withTemporaryDirectory { dir in
            try await tamper.makeArchive(in: dir)
            let ids = try snapshotIDs(Tamperer(dir: dir))
            try ids[0].write(toFile: dir + "/archive/datasets/events/latest", atomically: false, encoding: .utf8)
            let repaired = try await CLI.ok(["verify", "--repair"], in: dir)
            #expect(repaired.contains("repaired: datasets/events/latest") && repaired.contains("verify OK"))
            #expect(try pointer(dir) == ids[2])
            #expect(try await CLI.ok(["verify"], in: dir).hasPrefix("verify OK: 3 snapshots"))
        }
    }

    /// 28 CJK characters encode to 252 bytes: with `category=` the directory name passed 255 and every flush
    /// failed with "File name too long".
    @Test(arguments: [String(repeating: "a", count: 120), String(repeating: "漢", count: 28)])
    func longStreamNamesKeepArchiving(_ category: String) async throws {
        try await withTemporaryDirectory { dir in
            try await CLI.ok(["init"], in: dir)
            for round in 0..<2 {
                let lines = (0..<20).map { i in
                    #"{"stream":"\#(category)-\#(i % 3)","type":"T","data":{"i":\#(round * 20 + i)}}"#
                }
                try await CLI.ok(["append"], in: dir, input: lines.joined(separator: "\n") + "\n")
                try await CLI.ok(["flush", "--quiet"], in: dir)
            }
            let t = Tamperer(dir: dir)
            let names = try t.sh("find archive -name 'category=*' -prune -printf '%f\\n' | sort -u")
                .split(separator: "\n")
            #expect(names.count == 1 && names[0].contains("~") && names[0].utf8.count <= 120, "\(names)")
            #expect(try await CLI.ok(["verify"], in: dir).contains("40 events"))
            let restore = try await CLI.ok(["restore", "--to", "latest", "--into", "sqlite:restored.db"], in: dir)
            #expect(restore.contains("restored 40 events of 3 streams"))
        }
    }

    @Test func aFIFOInPlaceOfADataObjectIsRefusedNotAwaited() async throws {
        try await withTemporaryDirectory { dir in
            try await tamper.makeArchive(in: dir)
            let t = Tamperer(dir: dir)
            let file = try t.dataFiles(ofManifest: try t.manifests()[1])[0]
            _ = try t.sh("rm -f '\(file)' && mkfifo '\(file)'")
            for command in ["verify", "restore --to latest --into sqlite:r.db", "replay --to latest"] {
                let out = try t.sh(
                    "timeout 60 '\(CLI.binary)' \(command) >/dev/null 2>err.txt; echo $?; cat err.txt")
                let status = out.split(separator: "\n").first.map(String.init)
                #expect(status != "124", "\(command) hung on the FIFO")
                #expect(status != "0", "\(command): \(out)")
                #expect(out.contains("FIFO") && out.contains(String(file.dropFirst("archive/".count))), "\(out)")
            }
        }
    }

    @Test func missingPartitionCopyIsReportedAndRepaired() async throws {
        try await withTemporaryDirectory { dir in
            try await CLI.ok(["init"], in: dir)
            try await CLI.ok(["append"], in: dir, input: bankEvents(events: 100, accounts: 5, seed: 3))
            try await CLI.ok(["flush", "--quiet"], in: dir)
            let t = Tamperer(dir: dir)
            let copies = try t.sh("find archive/datasets/events/partitions -name manifest.json | sort")
                .split(separator: "\n").map(String.init)
            let canonical = try t.sh("ls archive/datasets/events/segments/*/manifest.json")
                .trimmingCharacters(in: .whitespacesAndNewlines)
            #expect(!copies.isEmpty)
            _ = try t.sh("rm '\(copies[0])'")
            try await tamper.expectDetected(
                dir, status: 11, mentioning: ["partition copy", String(copies[0].dropFirst("archive/".count))])
            let repaired = try await CLI.ok(["verify", "--repair"], in: dir)
            #expect(repaired.contains("repaired:") && repaired.contains("verify OK"), "\(repaired)")
            let restored = try Data(contentsOf: URL(fileURLWithPath: dir + "/" + copies[0]))
            #expect(restored == (try Data(contentsOf: URL(fileURLWithPath: dir + "/" + canonical))))
            #expect(try await CLI.ok(["verify"], in: dir).hasPrefix("verify OK"))
        }
    }

    @Test func flushIntoAnotherArchiveSaysTheyDoNotBelongTogether() async throws {
        try await withTemporaryDirectory { dir in
            try await CLI.ok(["init"], in: dir)
            try await CLI.ok(["append"], in: dir, input: bankEvents(events: 30, accounts: 3, seed: 1))
            try await CLI.ok(["flush", "--quiet"], in: dir)
            let other = try await CLI.run(["flush", "--archive", dir + "/other"], in: dir)
            #expect(other.status == 64, "\(other.status): \(other.stdout) \(other.stderr)")
            #expect(other.stderr.contains("do not belong together") && other.stderr.contains("this archive is empty"))
            #expect(!other.stdout.contains("nothing to flush"))
            #expect(!FileManager.default.fileExists(atPath: dir + "/other/datasets/events/latest"))
        }
    }

    @Test func verifyCrossChecksTheStoreCursorAndAnchors() async throws {
        try await withTemporaryDirectory { dir in
            try await tamper.makeArchive(in: dir)
            let t = Tamperer(dir: dir)
            let ids = try snapshotIDs(t)
            try await CLI.ok(["anchor"], in: dir).write(toFile: dir + "/anchors", atomically: true, encoding: .utf8)
            // Someone removes the newest snapshot and rolls the pointer back: the archive alone looks intact.
            _ = try t.sh("rm -rf archive/datasets/events/snapshots/\(ids[2])")
            try ids[1].write(toFile: dir + "/archive/datasets/events/latest", atomically: false, encoding: .utf8)
            let alone = try await CLI.run(["verify", "--store", dir + "/absent.db"], in: dir)
            #expect(alone.status != 0, "an explicit store that does not exist is an error")
            try await tamper.expectDetected(dir, mentioning: ["archived through position 600", ids[2]])
            try await tamper.expectDetected(
                dir, mentioning: ["newer than the archive's head"], extra: ["--anchor", "anchors"])
            // The store's flush refuses too: its cursor names a snapshot this archive no longer holds.
            let flush = try await CLI.run(["flush"], in: dir)
            #expect(flush.status == 64 && flush.stderr.contains("do not belong together"), "\(flush.stderr)")
        }
    }

    @Test func reservedAndDuplicateCutNamesAreRefused() async throws {
        try await withTemporaryDirectory { dir in
            try await CLI.ok(["init"], in: dir)
            try await CLI.ok(["append"], in: dir, input: bankEvents(events: 10, accounts: 2, seed: 1))
            try await CLI.ok(["cut", "create", "month-end"], in: dir)
            try await CLI.ok(["append"], in: dir, input: bankEvents(events: 10, accounts: 2, seed: 2))
            for (name, words) in [
                ("latest", ["reserved", "head"]), ("12", ["reserved", "position 12"]), ("", ["empty"]),
                ("month-end", ["already taken"]),
            ] {
                let result = try await CLI.run(["cut", "create", name], in: dir)
                #expect(result.status == 64, "'\(name)': \(result.status) \(result.stderr)")
                for word in words { #expect(result.stderr.contains(word), "'\(name)': \(result.stderr)") }
                let flagged = try await CLI.run(["flush", "--cut", name], in: dir)
                #expect(flagged.status == 64, "flush --cut '\(name)': \(flagged.stderr)")
            }
            // Nothing was flushed by the refused attempts.
            let list = try await CLI.ok(["cut", "list", "--all"], in: dir)
            #expect(list.split(separator: "\n").count == 2, "\(list)")
        }
    }
}
