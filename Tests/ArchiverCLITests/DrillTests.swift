import Foundation
import Lode
import LodeS3
import Testing

/// Restore drills as real processes on real files: a healthy archive passes (with and without pruned ranges)
/// and its attestation is signed; every injected fault is caught by `drill` and by `verify`.
@Suite struct DrillTests {
    /// Three snapshots of 200 events each, unpartitioned (one segment per snapshot); with `backupAfter`, a copy of
    /// the archive as it was after that many flushes is left in `archive-backup`.
    func makeArchive(in dir: String, signed: Bool = false, backupAfter: Int? = nil) async throws {
        try await CLI.ok(["init"], in: dir)
        if signed { try await CLI.ok(["keys", "generate", "--out", "k1"], in: dir) }
        for seed in 1...3 {
            try await CLI.ok(["append"], in: dir, input: bankEvents(events: 200, accounts: 10, seed: UInt64(seed)))
            try await CLI.ok(
                ["flush", "--partitioning", "none", "--quiet", "--cut", "c\(seed)"]
                    + (signed ? ["--signing-key", "k1.key"] : []), in: dir)
            if seed == backupAfter { _ = try await shell("cp -r archive archive-backup", in: dir) }
        }
    }

    @Test func healthyArchivePassesWithASignedAttestation() async throws {
        try await withTemporaryDirectory { dir in
            try await makeArchive(in: dir, signed: true)
            let out = try await CLI.ok(["drill", "--signing-key", "k1.key"], in: dir)
            #expect(out.hasPrefix("drill PASSED: restored 600 events of 10 streams through position 600"), "\(out)")
            #expect(out.contains("compared 600 live events above pruned position 0 and 10 stream heads"), "\(out)")
            #expect(out.contains("attestation signed by key"), "\(out)")
            let list = try await CLI.ok(["drill", "--list", "--trusted-key", "k1.pub"], in: dir)
            let row = try #require(list.split(separator: "\n").last.map(String.init))
            #expect(row.contains(" pass ") && row.contains(" 600 ") && row.contains("c3") && row.contains("valid ("))
            // The drills dataset lives beside events without disturbing the audit of the archive.
            #expect(try await CLI.ok(["verify", "--trusted-key", "k1.pub"], in: dir).hasPrefix("verify OK"))

            // An edited attestation no longer matches its signature, and prune no longer accepts it.
            let t = Tamperer(dir: dir)
            let file = try await shell("ls archive/datasets/drills/snapshots/*/data/data.zst", in: dir).out
                .trimmingCharacters(in: .whitespacesAndNewlines)
            let line = try #require(try t.lines(of: file).first)
            try t.rewrite(
                file, lines: [line.replacingOccurrences(of: #""last_position":600"#, with: #""last_position":601"#)])
            let edited = try await CLI.ok(["drill", "--list", "--trusted-key", "k1.pub"], in: dir)
            #expect(edited.contains("INVALID ("), "\(edited)")
            let refused = try await CLI.run(["prune", "--before", "c3", "--trusted-key", "k1.pub"], in: dir)
            #expect(refused.status == 1 && refused.stderr.contains("not signed by a trusted key"), "\(refused.stderr)")
        }
    }

    @Test func passesOverPrunedRangesAndGuardsPrune() async throws {
        try await withTemporaryDirectory { dir in
            try await makeArchive(in: dir)
            let refused = try await CLI.run(["prune", "--before", "c2"], in: dir)
            #expect(refused.status == 1 && refused.stderr.contains("no passing drill"), "\(refused.stderr)")
            let first = try await CLI.ok(["drill", "--to", "c1"], in: dir)
            #expect(first.contains("restored 200 events") && first.contains("attestation unsigned"), "\(first)")
            // A drill of c1 does not cover c2.
            let short = try await CLI.run(["prune", "--before", "c2"], in: dir)
            #expect(short.status == 1 && short.stderr.contains("covers position 200 only"), "\(short.stderr)")
            try await CLI.ok(["drill", "--to", "c2"], in: dir)
            #expect(try await CLI.ok(["prune", "--before", "c2"], in: dir).contains("pruned 400 hot events"))

            // After the prune, events at or below 400 are checked against the manifests only.
            try await CLI.ok(["append"], in: dir, input: bankEvents(events: 50, accounts: 10, seed: 9))
            try await CLI.ok(["flush", "--quiet", "--cut", "c4"], in: dir)
            let latest = try await CLI.ok(["drill"], in: dir)
            #expect(latest.contains("restored 650 events"), "\(latest)")
            #expect(latest.contains("compared 250 live events above pruned position 400"), "\(latest)")
            let pruned = try await CLI.ok(["drill", "--to", "c1"], in: dir)
            #expect(pruned.contains("compared 0 live events above pruned position 400"), "\(pruned)")
            #expect(try await CLI.ok(["drill", "--random"], in: dir).hasPrefix("drill PASSED"))
            let list = try await CLI.ok(["drill", "--list"], in: dir)
            #expect(list.split(separator: "\n").count == 1 + 5, "\(list)")
            #expect(!list.contains(" fail "))
            #expect(
                try await CLI.ok(["prune", "--before", "c4", "--drill-max-age", "1h"], in: dir).contains("pruned 250"))
        }
    }

    enum Fault: String, CaseIterable, CustomTestStringConvertible {
        case flippedByte, deletedObject, deletedManifest, rolledBackLatestPointer, holeBetweenSnapshots
        case storeCursorAheadOfArchive, storeFromAnotherArchive

        var testDescription: String { rawValue }

        /// What the drill's difference line says.
        var drillSays: String {
            switch self {
            case .flippedByte: "MD5"
            case .deletedObject: "is missing"
            case .deletedManifest: "has no manifest"
            case .rolledBackLatestPointer, .storeCursorAheadOfArchive: "latest pointer was rolled back"
            case .holeBetweenSnapshots: "starts its hash chain"
            case .storeFromAnotherArchive: "belongs to another archive"
            }
        }

        func inject(in dir: String) async throws {
            let t = Tamperer(dir: dir)
            let manifests = try t.manifests()
            let snapshot = { (i: Int) in String(manifests[i].split(separator: "/")[4]) }
            switch self {
            case .flippedByte:
                let file = try t.dataFiles(ofManifest: manifests[1])[0]
                _ = try t.sh("chmod u+w '\(file)'; printf 'X' | dd of='\(file)' bs=1 seek=20 conv=notrunc 2>/dev/null")
            case .deletedObject:
                _ = try t.sh("rm '\(try t.dataFiles(ofManifest: manifests[1])[0])'")
            case .deletedManifest:
                _ = try t.sh("rm '\(manifests[1])'")
            case .rolledBackLatestPointer:
                _ = try t.sh(
                    "chmod u+w archive/datasets/events/latest; printf '\(snapshot(1))' > archive/datasets/events/latest"
                )
            case .holeBetweenSnapshots:
                // The middle snapshot goes, and the last is relinked to the first with a correct parent hash.
                _ = try t.sh("rm -rf \"$(dirname '\(manifests[1])')\"")
                let parentHash = String(try t.sh("sha256sum '\(manifests[0])'").prefix(64))
                try t.editManifest(manifests[2]) { object in
                    object["parent_snapshot_id"] = snapshot(0)
                    var metadata = object["metadata"] as! [String: Any]
                    metadata["archiver.parent_manifest_sha256"] = parentHash
                    object["metadata"] = metadata
                }
            case .storeCursorAheadOfArchive:
                // The archive is put back from a backup older than the store.
                _ = try t.sh("rm -rf archive && mv archive-backup archive")
            case .storeFromAnotherArchive:
                _ = try t.sh("mkdir other && cd other && '\(CLI.binary)' init >/dev/null")
                try await CLI.ok(["append"], in: dir + "/other", input: bankEvents(events: 600, accounts: 10, seed: 4))
                try await CLI.ok(["flush", "--quiet"], in: dir + "/other")
                _ = try t.sh("rm -f archiver.db*; cp other/archiver.db* .")
            }
        }
    }

    @Test(arguments: Fault.allCases) func faultIsCaughtByDrillAndVerify(_ fault: Fault) async throws {
        try await withTemporaryDirectory { dir in
            try await makeArchive(in: dir, backupAfter: fault == .storeCursorAheadOfArchive ? 2 : nil)
            try await fault.inject(in: dir)
            let drill = try await CLI.run(["drill"], in: dir)
            #expect(drill.status == 13, "drill exited \(drill.status): \(drill.stdout) \(drill.stderr)")
            #expect(drill.stdout.hasPrefix("drill FAILED"), "\(drill.stdout)")
            #expect(drill.stderr.contains(fault.drillSays), "\(drill.stderr)")
            #expect(drill.stderr.split(separator: "\n").allSatisfy { $0.hasPrefix("drill: ") }, "\(drill.stderr)")
            // The failed drill is recorded, and it does not let prune through.
            let list = try await CLI.ok(["drill", "--list"], in: dir)
            #expect(list.contains(" fail "), "\(list)")
            let prune = try await CLI.run(["prune", "--before", "latest"], in: dir)
            #expect(prune.status != 0, "\(prune.stdout)")

            let verify = try await CLI.run(["verify"], in: dir)
            #expect(verify.status == 10 || verify.status == 11, "verify exited \(verify.status): \(verify.stderr)")
        }
    }
}

@Suite struct DrillScheduleTests {
    @Test func serveRunsDrillsOnASchedule() async throws {
        try await withTemporaryDirectory { dir in
            try await CLI.ok(["init"], in: dir)
            try await CLI.ok(["append"], in: dir, input: bankEvents(events: 100, accounts: 5, seed: 3))
            let server = try await ServeProcess(["--flush-interval", "0.2", "--drill-every", "1s"], in: dir)
            defer { server.cleanUp() }
            // The gauge starts at 0; it moves to the time of the first passing drill.
            var (metrics, seconds) = ("", 0.0)
            for _ in 0..<100 where seconds == 0 {
                try await Task.sleep(for: .milliseconds(200))
                metrics = try await server.request("GET", "/metrics").body
                let line = metrics.split(separator: "\n").first {
                    $0.hasPrefix("archiver_last_drill_success_timestamp_seconds ")
                }
                seconds = line.flatMap { Double($0.split(separator: " ")[1]) } ?? 0
            }
            #expect(abs(seconds - Date().timeIntervalSince1970) < 120)
            #expect(!metrics.contains("archiver_drill_failures_total 1"))
            server.signal(SIGTERM)
            _ = try await server.waitForExit()
            let list = try await CLI.ok(["drill", "--list"], in: dir)
            #expect(list.contains(" pass ") && list.contains(" 100 "), "\(list)")
        }
    }
}

/// A drill of a PostgreSQL store and an S3 archive (the production pair), over a pruned range, and a deleted
/// object caught on S3.
@Suite struct DrillServicesTests {
    static let environment = ProcessInfo.processInfo.environment
    static let servicesUp =
        environment["ARCHIVER_TEST_POSTGRES_URL"]?.isEmpty == false
        && environment["ARCHIVER_TEST_S3_ENDPOINT"]?.isEmpty == false

    @Test(
        .enabled(
            if: servicesUp, "needs ARCHIVER_TEST_POSTGRES_URL and ARCHIVER_TEST_S3_ENDPOINT (scripts/with-services.sh)")
    )
    func postgresStoreAndS3Archive() async throws {
        let schema = "drill_" + UUID().uuidString.prefix(8).lowercased()
        let pg = ["--store", Self.environment["ARCHIVER_TEST_POSTGRES_URL"]!, "--schema", schema]
        try await S3EndToEndTests().withBucket { bucket in
            try await withTemporaryDirectory { dir in
                let env = bucket.environment
                let both = pg + ["--archive", bucket.url]
                try await CLI.ok(["init"] + pg, in: dir)
                for seed in 1...2 {
                    try await CLI.ok(
                        ["append"] + pg, in: dir, input: bankEvents(events: 300, accounts: 7, seed: UInt64(seed)))
                    try await CLI.ok(["flush", "--quiet", "--cut", "c\(seed)"] + both, in: dir, environment: env)
                }
                try await CLI.ok(["drill", "--to", "c1"] + both, in: dir, environment: env)
                try await CLI.ok(["prune", "--before", "c1"] + both, in: dir, environment: env)
                let out = try await CLI.ok(["drill"] + both, in: dir, environment: env)
                #expect(out.contains("restored 600 events"), "\(out)")
                #expect(out.contains("compared 300 live events above pruned position 300"), "\(out)")

                let objects = try await bucket.store.list(prefix: "datasets/events/")
                let victim = try #require(objects.first { $0.key.hasSuffix(".zst") })
                try await bucket.store.delete(victim.key)
                let failed = try await CLI.run(["drill"] + both, in: dir, environment: env)
                #expect(failed.status == 13 && failed.stderr.contains("is missing"), "\(failed.stderr)")
                let verify = try await CLI.run(["verify", "--archive", bucket.url], in: dir, environment: env)
                #expect(verify.status == 11, "\(verify.stderr)")
            }
        }
    }
}
