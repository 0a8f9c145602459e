import Foundation
import LodeS3
import Testing

/// Read conformance: every read surface (CLI `read` of a stream, a category and the global order; HTTP
/// `GET /streams/{s}` and `GET /events` paging) returns the same bytes in four states of the same store:
/// nothing pruned, fully pruned, pruned midway, pruned and then compacted.
@Suite struct ReadThroughTests {
    enum StoreState: String, CaseIterable, Sendable {
        case nothingPruned, fullyPruned, prunedMidway, prunedAndCompacted
    }

    /// Where the store and the archive are: SQLite and a directory by default.
    struct Backend {
        var store: [String] = []
        var archive: [String] = []
        var environment: [String: String] = [:]
        var args: [String] { store + archive }
    }

    /// The outputs of every read surface, by name.
    static func transcript(_ dir: String, _ backend: Backend) async throws -> [String: String] {
        var out: [String: String] = [:]
        let env = backend.environment
        let reads: [String: [String]] = [
            "cli all": ["read", "--all", "--limit", "100000"],
            "cli all after": ["read", "--all", "--after", "37", "--limit", "150"],
            "cli stream": ["read", "--stream", "account-1", "--limit", "100000"],
            "cli stream from": ["read", "--stream", "account-2", "--from", "3", "--limit", "40"],
            "cli category": ["read", "--category", "account", "--after", "10", "--limit", "100000"],
        ]
        for (name, args) in reads {
            out[name] = try await CLI.ok(args + backend.args, in: dir, environment: env)
        }
        let serve = try await ServeProcess(["--flush-interval", "0"] + backend.args, in: dir, environment: env)
        defer { serve.cleanUp() }
        var events = ""
        var tiers: Set<String> = []
        var after = 0
        while true {
            let reply = try await serve.request("GET", "/events?after=\(after)&limit=9")
            #expect(reply.status == 200, "\(reply.body)")
            tiers.insert(reply.headers["archiver-tier"] ?? "none")
            events += reply.body
            guard let last = reply.object["last_position"] as? Int, last > after else { break }
            after = last
        }
        out["http events"] = events
        out["http tiers seen"] = tiers.sorted().joined(separator: ",")
        var stream = ""
        for from in [1, 4, 9] {
            let reply = try await serve.request("GET", "/streams/account-3?from=\(from)&limit=7")
            #expect(reply.status == 200, "\(reply.body)")
            stream += reply.body
        }
        out["http stream"] = stream
        serve.signal(SIGTERM)
        _ = try await serve.waitForExit()
        return out
    }

    /// 400 events in three flushed batches (cuts c1, c2, c3) and 50 more left hot; the reference transcript;
    /// then the state; then the transcript again, which must be the same.
    static func conform(_ state: StoreState, _ backend: Backend) async throws {
        try await withTemporaryDirectory { dir in
            let env = backend.environment
            try await CLI.ok(["init"] + backend.store, in: dir, environment: env)
            for (batch, cut) in ["c1", "c2", "c3"].enumerated() {
                try await CLI.ok(
                    ["append"] + backend.store, in: dir,
                    input: bankEvents(events: 130 + batch * 5, accounts: 4, seed: UInt64(batch + 1)), environment: env)
                try await CLI.ok(["flush", "--cut", cut, "--quiet"] + backend.args, in: dir, environment: env)
            }
            try await CLI.ok(
                ["append"] + backend.store, in: dir, input: bankEvents(events: 50, accounts: 4, seed: 9),
                environment: env)
            let reference = try await transcript(dir, backend)
            #expect(reference["http tiers seen"] == "store")
            switch state {
            case .nothingPruned:
                break
            case .fullyPruned:
                try await CLI.ok(
                    ["prune", "--before", "latest", "--without-drill"] + backend.args, in: dir, environment: env)
            case .prunedMidway:
                try await CLI.ok(
                    ["prune", "--before", "c2", "--without-drill"] + backend.args, in: dir, environment: env)
            case .prunedAndCompacted:
                try await CLI.ok(
                    ["prune", "--before", "c2", "--without-drill"] + backend.args, in: dir, environment: env)
                for retire in [[], ["--retire"]] {
                    try await CLI.ok(
                        ["compact", "--target-size", "1MiB", "--quiet"] + retire + backend.args, in: dir,
                        environment: env)
                }
            }
            let got = try await transcript(dir, backend)
            for (name, expected) in reference where name != "http tiers seen" {
                #expect(!expected.isEmpty, "\(name) is empty")
                #expect(got[name] == expected, "\(state): \(name) differs: \(got[name]?.prefix(300) ?? "-")")
            }
            let tiers = got["http tiers seen"] ?? ""
            #expect(state == .nothingPruned ? tiers == "store" : tiers.contains("archive"), "\(tiers)")
            if state == .prunedMidway { #expect(tiers.contains("mixed"), "\(tiers)") }
        }
    }

    @Test(arguments: StoreState.allCases)
    func sqliteAndDirectory(_ state: StoreState) async throws {
        try await Self.conform(state, Backend())
    }

    @Test(
        .enabled(if: TestServices.postgresURL != nil, TestServices.needsPostgres),
        arguments: [StoreState.fullyPruned, .prunedAndCompacted])
    func postgresAndDirectory(_ state: StoreState) async throws {
        let url = try #require(TestServices.postgresURL)
        let schema = "read_" + UUID().uuidString.prefix(8).lowercased()
        try await Self.conform(state, Backend(store: ["--store", url, "--schema", schema]))
    }

    @Test(
        .enabled(if: TestServices.s3Endpoint != nil, TestServices.needsS3),
        arguments: [StoreState.prunedMidway, .prunedAndCompacted])
    func sqliteAndS3(_ state: StoreState) async throws {
        let endpoint = try #require(TestServices.s3Endpoint)
        var configuration = try S3Configuration(
            url: "s3://read-\(UUID().uuidString.lowercased().prefix(18))/archive", endpoint: endpoint,
            region: "us-east-1", credentials: S3Credentials(accessKeyID: "test", secretAccessKey: "test-secret"))
        configuration.addressing = .pathStyle
        let bucket = S3Store(configuration: configuration)
        try await bucket.createBucket()
        let environment = [
            "ARCHIVER_S3_ENDPOINT": endpoint, "AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test-secret",
            "AWS_REGION": "us-east-1", "AWS_PROFILE": "", "ARCHIVER_S3_PATH_STYLE": "true",
        ]
        let backend = Backend(archive: ["--archive", "s3://\(configuration.bucket)/archive"], environment: environment)
        do {
            try await Self.conform(state, backend)
        } catch {
            await bucket.deleteBucketAndContents()
            throw error
        }
        await bucket.deleteBucketAndContents()
    }

    /// A tampered archive object: the CLI read fails with exit status 10 naming the object, and HTTP answers
    /// 500 `archive-integrity`; no altered event is printed.
    @Test func aTamperedObjectIsAReadErrorOnEverySurface() async throws {
        try await withTemporaryDirectory { dir in
            try await CLI.ok(["init"], in: dir)
            try await CLI.ok(["append"], in: dir, input: bankEvents(events: 200, accounts: 4, seed: 5))
            try await CLI.ok(["flush", "--quiet"], in: dir)
            try await CLI.ok(["prune", "--before", "latest", "--without-drill"], in: dir)
            let objects = FileManager.default.enumerator(atPath: dir + "/archive")!.compactMap { $0 as? String }
            let victim = try #require(objects.first { $0.hasPrefix("datasets/events/") && $0.hasSuffix(".zst") })
            let path = dir + "/archive/" + victim
            var bytes = try Data(contentsOf: URL(fileURLWithPath: path))
            bytes[bytes.count / 2] ^= 0x01
            try bytes.write(to: URL(fileURLWithPath: path))
            let read = try await CLI.run(["read", "--all"], in: dir)
            #expect(read.status == 10 && read.stdout.isEmpty, "\(read.status): \(read.stderr)")
            #expect(read.stderr.contains(victim), "\(read.stderr)")
            let serve = try await ServeProcess(["--flush-interval", "0"], in: dir)
            defer { serve.cleanUp() }
            let reply = try await serve.request("GET", "/events?after=0")
            #expect(reply.status == 500 && reply.body.contains("archive-integrity"), "\(reply.body)")
            let stream = try await serve.request("GET", "/streams/account-1")
            #expect(stream.status == 500 && stream.body.contains("archive-integrity"), "\(stream.body)")
        }
    }
}
