import Foundation
import Testing

/// Runs the built `archiver` binary: `archiver lode …` on the Lode fixture trees, and the two-process race.
@Suite struct LodeCLITests {
    static let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().path
    static let fixtures = packageRoot + "/Tests/LodeTests/Fixtures"

    static var binary: String {
        if let path = ProcessInfo.processInfo.environment["ARCHIVER_BIN"], !path.isEmpty { return path }
        return packageRoot + "/.build/debug/archiver"
    }

    struct Result {
        var status: Int32
        var stdout: String
        var stderr: String
        var lines: [String] {
            stdout.split(separator: "\n", omittingEmptySubsequences: false).dropLast().map(String.init)
        }
    }

    static func run(_ arguments: [String]) throws -> Result {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: binary)
        process.arguments = arguments
        let out = Pipe()
        let err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        // Read both pipes concurrently so neither can fill up and block the child.
        nonisolated(unsafe) var errData = Data()
        let errReader = Thread { errData = err.fileHandleForReading.readDataToEndOfFile() }
        errReader.start()
        let outData = out.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        while errReader.isExecuting || !errReader.isFinished { usleep(1000) }
        return Result(
            status: process.terminationStatus, stdout: String(decoding: outData, as: UTF8.self),
            stderr: String(decoding: errData, as: UTF8.self))
    }

    static func lode(_ arguments: String...) throws -> Result {
        try run(["lode"] + arguments)
    }

    static let g1Records = [
        #"{"id":1,"type":"OrderPlaced"}"#, #"{"id":2,"type":"OrderShipped"}"#,
        #"{"id":3,"note":"café \u003c\u0026\u003e","type":"OrderPaid"}"#,
        #"{"id":4,"type":"OrderPlaced"}"#, #"{"id":5,"type":"OrderCancelled"}"#,
        #"{"amount":12.5,"id":6,"type":"Refund"}"#,
    ]

    @Test func binaryExists() {
        #expect(FileManager.default.isExecutableFile(atPath: Self.binary), "build it first: swift build")
    }

    @Test func datasets() throws {
        let result = try Self.lode("datasets", Self.fixtures + "/G2-compressed")
        #expect(result.status == 0)
        #expect(
            result.lines == [
                "dataset\tlayout\tsnapshots\thead", "events-gzip\tdefault\t3\t1767312000000000007",
                "events-zstd\tdefault\t3\t1767312000000000007",
            ])
        #expect(result.stderr == "")
        let hive = try Self.lode("datasets", Self.fixtures + "/G4-hive")
        #expect(hive.lines.last == "events\thive(day)\t1\t1767139200000000042")
        let flat = try Self.lode("datasets", Self.fixtures + "/G5-flat")
        #expect(flat.lines.last == "events\tflat\t2\t1767225600123456789")
    }

    @Test func snapshots() throws {
        let result = try Self.lode("snapshots", Self.fixtures + "/G1-default-jsonl-noop")
        #expect(result.status == 0)
        #expect(
            result.lines == [
                "snapshot_id\tparent\tcreated_at\trows\tfiles\tbytes",
                "1767139200000000042\t-\t2025-12-31T00:00:00.5Z\t2\t1\t61",
                "1767225600123456789\t1767139200000000042\t2026-01-01T00:00:00.130002Z\t1\t1\t62",
                "1767312000000000007\t1767225600123456789\t2026-01-02T00:00:00Z\t3\t1\t102",
            ])
    }

    @Test func files() throws {
        let result = try Self.lode("files", Self.fixtures + "/G4-hive", "--dataset", "events")
        #expect(result.status == 0)
        #expect(result.lines.count == 4)
        #expect(result.lines[0] == "snapshot_id\tpath\tsize_bytes\tchecksum")
        #expect(
            result.lines[3].hasPrefix(
                "1767139200000000042\tdatasets/events/partitions/day=a%20b%2Fc/segments/1767139200000000042/data/data.zst\t"
            ))
        let upTo = try Self.lode(
            "files", Self.fixtures + "/G1-default-jsonl-noop", "--snapshot", "1767139200000000042")
        #expect(
            upTo.lines == [
                "snapshot_id\tpath\tsize_bytes\tchecksum",
                "1767139200000000042\tdatasets/events/snapshots/1767139200000000042/data/data\t61\ta2cb22aa58bb0f8974d90e6948de81fe",
            ])
    }

    @Test func cat() throws {
        let all = try Self.lode("cat", Self.fixtures + "/G1-default-jsonl-noop")
        #expect(all.status == 0)
        #expect(all.lines == Self.g1Records)
        let cut = try Self.lode("cat", Self.fixtures + "/G1-default-jsonl-noop", "--snapshot", "1767225600123456789")
        #expect(cut.lines == Array(Self.g1Records[0..<3]))
        for dataset in ["events-gzip", "events-zstd"] {
            let compressed = try Self.lode("cat", Self.fixtures + "/G2-compressed", "--dataset", dataset)
            #expect(compressed.lines == Self.g1Records)
        }
        let blob = try Self.lode("cat", Self.fixtures + "/G3-raw-blob")
        #expect(blob.stdout == "hello worldhello world")
    }

    @Test func checkHealthyForkedAndOrphaned() throws {
        let healthy = try Self.lode("check", Self.fixtures + "/G1-default-jsonl-noop")
        #expect(healthy.status == 0)
        #expect(healthy.lines.last == "ok")
        #expect(healthy.lines.first?.contains("3 file(s) verified") == true)

        let forked = try Self.lode("check", Self.fixtures + "/N2-fork")
        #expect(forked.status == 2)
        #expect(forked.lines.contains { $0.hasPrefix("problem: forkDetected:") && $0.contains("1767139200000000042") })
        #expect(forked.lines.last == "2 problem(s)")

        let orphaned = try Self.lode("check", Self.fixtures + "/N2-orphan-data")
        #expect(orphaned.status == 0)
        #expect(
            orphaned.lines.contains(
                "orphan: datasets/events/snapshots/1767225600123456789/data/data (not referenced by any manifest)"))

        let truncated = try Self.lode("check", Self.fixtures + "/N2-truncated-manifest")
        #expect(truncated.status == 2)
        #expect(
            truncated.lines.contains {
                $0.hasPrefix("problem: corruptManifest:")
                    && $0.contains("datasets/events/snapshots/1767225600123456789/manifest.json")
            })
    }

    @Test func corruptedObjectFailsCatWithOneLineNamingIt() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("lode-cli-\(UUID().uuidString)").path
        try FileManager.default.copyItem(atPath: Self.fixtures + "/G1-default-jsonl-noop", toPath: dir)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let key = "datasets/events/snapshots/1767312000000000007/data/data"
        var data = try Data(contentsOf: URL(fileURLWithPath: dir + "/" + key))
        data[10] ^= 0x20
        try data.write(to: URL(fileURLWithPath: dir + "/" + key))
        let result = try Self.lode("cat", dir)
        #expect(result.status == 1)
        #expect(result.lines == Array(Self.g1Records[0..<3]))  // the damaged snapshot delivered nothing
        #expect(result.stderr.hasPrefix("error: object '\(key)' has MD5 "))
        #expect(result.stderr.filter { $0 == "\n" }.count == 1)
        let check = try Self.lode("check", dir)
        #expect(check.status == 2)
        #expect(check.lines.contains { $0.hasPrefix("problem: checksumMismatch:") && $0.contains(key) })
    }

    @Test func errorsAreOneLineWithoutStackTraces() throws {
        for (arguments, fragment) in [
            (["snapshots", "/nonexistent/archive"], "does not exist"),
            (["cat", Self.fixtures + "/G2-compressed"], "choose one with --dataset"),
            (["files", Self.fixtures + "/G1-default-jsonl-noop", "--dataset", "nope"], "no dataset 'nope'"),
            (["cat", Self.fixtures + "/G1-default-jsonl-noop", "--snapshot", "999"], "999"),
            (["cat", Self.fixtures + "/N2-fork"], "forked"),
            // S3 roots are configured from the environment; a bad URL is one clear line before any request.
            (["snapshots", "s3://b/prefix"], "not a valid bucket name"),
        ] {
            let result = try Self.run(["lode"] + arguments)
            #expect(result.status == 1, "\(arguments)")
            #expect(result.stderr.hasPrefix("error: "), "\(arguments): \(result.stderr)")
            #expect(result.stderr.contains(fragment), "\(arguments): \(result.stderr)")
            #expect(result.stderr.filter { $0 == "\n" }.count == 1, "\(arguments): \(result.stderr)")
            #expect(!result.stderr.contains("Fatal error"))
        }
    }

    /// Two to eight processes put the same key at the same instant: exactly one wins, the object is its bytes.
    @Test(arguments: [2, 8])
    func twoProcessRaceHasExactlyOneWinner(processes: Int) throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("lode-race-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir + "/store", withIntermediateDirectories: true)
        var created: [String] = []
        defer {
            try? FileManager.default.removeItem(atPath: dir)
            for file in created { try? FileManager.default.removeItem(atPath: file) }
        }
        for round in 0..<3 {
            let key = "datasets/race/snapshots/\(round)/data/data"
            var payloads: [Data] = []
            var launched: [Process] = []
            let start = Int64(Date().timeIntervalSince1970 * 1000) + 400
            for index in 0..<processes {
                // Round 2 publishes from /dev/shm when present: another filesystem, so the copy path races.
                let base = round == 2 && FileManager.default.fileExists(atPath: "/dev/shm") ? "/dev/shm" : dir
                let file = "\(base)/lode-race-\(UUID().uuidString)-\(index)"
                let payload = Data(repeating: UInt8(index + 1), count: 512 * 1024 + index)
                try payload.write(to: URL(fileURLWithPath: file))
                created.append(file)
                payloads.append(payload)
                let process = Process()
                process.executableURL = URL(fileURLWithPath: Self.binary)
                process.arguments = ["lode", "put", dir + "/store", key, file, "--not-before-ms", String(start)]
                process.standardError = FileHandle.nullDevice
                process.standardOutput = FileHandle.nullDevice
                try process.run()
                launched.append(process)
            }
            for process in launched { process.waitUntilExit() }
            let statuses = launched.map(\.terminationStatus)
            #expect(statuses.filter { $0 == 0 }.count == 1, "round \(round): \(statuses)")
            #expect(statuses.filter { $0 == 3 }.count == processes - 1, "round \(round): \(statuses)")
            let winner = try #require(statuses.firstIndex(of: 0))
            let stored = try Data(contentsOf: URL(fileURLWithPath: dir + "/store/" + key))
            // A Bool, not `==` inside #expect: Swift Testing would diff half a megabyte element by element.
            let isWinnersBytes = stored == payloads[winner]
            #expect(isWinnersBytes, "round \(round): the object is not the winner's bytes (\(stored.count) bytes)")
            let leftovers = try FileManager.default.contentsOfDirectory(
                atPath: dir + "/store/datasets/race/snapshots/\(round)/data")
            #expect(leftovers == ["data"])
        }
    }
}
