import Foundation
import Lode
import LodeS3
import Testing

/// The archive on a real S3 API server (moto, `ARCHIVER_TEST_S3_ENDPOINT`): the same commands with
/// `--archive s3://bucket/prefix`. Skipped (visibly) without the server.
@Suite(.enabled(if: TestServices.s3Endpoint != nil, TestServices.needsS3))
struct S3EndToEndTests {
    static let endpoint = TestServices.s3Endpoint

    struct Bucket {
        var endpoint: String
        var store: S3Store
        var url: String { "s3://\(store.configuration.bucket)/archive" }
        /// The environment the CLI resolves its S3 settings from.
        var environment: [String: String] {
            [
                "ARCHIVER_S3_ENDPOINT": endpoint, "AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test-secret",
                "AWS_REGION": "us-east-1", "AWS_PROFILE": "", "ARCHIVER_S3_PATH_STYLE": "true",
            ]
        }
    }

    /// A fresh bucket, emptied and removed afterwards.
    func withBucket(_ body: (Bucket) async throws -> Void) async throws {
        let endpoint = try #require(Self.endpoint)
        var configuration = try S3Configuration(
            url: "s3://cli-\(UUID().uuidString.lowercased().prefix(18))/archive", endpoint: endpoint,
            region: "us-east-1", credentials: S3Credentials(accessKeyID: "test", secretAccessKey: "test-secret"))
        configuration.addressing = .pathStyle
        let store = S3Store(configuration: configuration)
        try await store.createBucket()
        let bucket = Bucket(endpoint: endpoint, store: store)
        do {
            try await body(bucket)
        } catch {
            await store.deleteBucketAndContents()
            throw error
        }
        await store.deleteBucketAndContents()
    }

    /// The archived records read without our reader: every data object fetched and decompressed by `zstd`.
    func archivedRecords(_ bucket: Bucket, scratch: String) async throws -> [[String: Any]] {
        var records: [[String: Any]] = []
        for object in try await bucket.store.list(prefix: "") where object.key.hasSuffix(".zst") {
            let local = scratch + "/object.zst"
            try Data(try await bucket.store.get(object.key)).write(to: URL(fileURLWithPath: local))
            let process = Process()
            process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            process.arguments = ["zstd", "-dc", local]
            let pipe = Pipe()
            process.standardOutput = pipe
            try process.run()
            let out = pipe.fileHandleForReading.readDataToEndOfFile()
            process.waitUntilExit()
            records += try jsonLines(String(decoding: out, as: UTF8.self))
        }
        return records.sorted { ($0["position"] as! Int) < ($1["position"] as! Int) }
    }

    @Test func initAppendFlushReplayVerifyOnS3() async throws {
        try await withBucket { bucket in
            try await withTemporaryDirectory { dir in
                let env = bucket.environment
                let archive = ["--archive", bucket.url]
                try await CLI.ok(["init"], in: dir)
                try await CLI.ok(["append"], in: dir, input: bankEvents(events: 3_000, accounts: 40, seed: 5))
                let flushed = try await CLI.ok(["flush", "--cut", "first"] + archive, in: dir, environment: env)
                #expect(flushed.contains("flushed 3000 events"), "\(flushed)")
                try await CLI.ok(["append"], in: dir, input: bankEvents(events: 1_000, accounts: 40, seed: 6))
                try await CLI.ok(["flush"] + archive, in: dir, environment: env)

                // The bucket holds exactly the hot store's events (read with zstd, not with our reader).
                let hot = try await hotEvents(in: dir)
                let archived = try await archivedRecords(bucket, scratch: dir)
                #expect(archived.count == 4_000)
                #expect(archived.map { $0["position"] as! Int } == hot.map { $0["position"] as! Int })
                #expect(archived.map { $0["id"] as! String } == hot.map { $0["id"] as! String })
                // Nothing outside the prefix, no open multipart upload.
                #expect(try await bucket.store.allBucketKeys().allSatisfy { $0.hasPrefix("archive/") })
                #expect(try await bucket.store.pendingMultipartUploads().isEmpty)

                // Replay to the first cut equals a fold over the hot store's first 3000 events.
                var sums: [String: Int] = [:]
                for event in hot.prefix(3_000) {
                    sums[event["stream"] as! String, default: 0] += (event["data"] as! [String: Any])["amount"] as! Int
                }
                let rows = try jsonLines(
                    try await CLI.ok(
                        ["replay", "--to", "first", "--projection", "sum:amount"] + archive, in: dir, environment: env))
                #expect(rows.count == sums.count)
                for row in rows {
                    #expect((row["sum"] as? NSNumber)?.intValue == sums[row["stream"] as! String])
                }

                let verified = try await CLI.ok(["verify"] + archive, in: dir, environment: env)
                #expect(verified.hasPrefix("verify OK"), "\(verified)")
                #expect(verified.contains("4000 events"))
                // Flushing again with nothing new changes nothing; the archive still verifies.
                let keysBefore = try await bucket.store.list(prefix: "")
                try await CLI.ok(["flush"] + archive, in: dir, environment: env)
                #expect(try await bucket.store.list(prefix: "") == keysBefore)
                #expect(try await CLI.ok(["verify"] + archive, in: dir, environment: env).hasPrefix("verify OK"))
            }
        }
    }

    /// Compaction and retirement on S3: the activation is a conditional write (If-Match / If-None-Match), the
    /// results do not change, and retire leaves only manifests of the originals.
    @Test func compactAndRetireOnS3() async throws {
        try await withBucket { bucket in
            try await withTemporaryDirectory { dir in
                let env = bucket.environment
                let archive = ["--archive", bucket.url]
                try await CLI.ok(["init"], in: dir)
                try await CLI.ok(["append"], in: dir, input: bankEvents(events: 1_200, accounts: 20, seed: 11))
                try await CLI.ok(["flush", "--target-size", "4KiB", "--quiet"] + archive, in: dir, environment: env)
                let before = try await CompactTests.results(dir, archive, environment: env)
                let compacted = try await CLI.ok(
                    ["compact", "--target-size", "64KiB", "--quiet"] + archive, in: dir, environment: env)
                #expect(compacted.contains("into events-gen1"), "\(compacted)")
                #expect(try await bucket.store.head("datasets/generations/latest") != nil)
                #expect(try await CompactTests.results(dir, archive, environment: env) == before)
                let retired = try await CLI.ok(["compact", "--retire"] + archive, in: dir, environment: env)
                #expect(retired.hasPrefix("retired "), "\(retired)")
                #expect(try await CompactTests.results(dir, archive, environment: env) == before)
                let originals = try await bucket.store.list(prefix: "datasets/events/")
                #expect(!originals.isEmpty && originals.allSatisfy { !$0.key.hasSuffix(".zst") })
            }
        }
    }

    @Test func tamperingWithAnObjectInTheBucketFailsVerify() async throws {
        try await withBucket { bucket in
            try await withTemporaryDirectory { dir in
                let env = bucket.environment
                let archive = ["--archive", bucket.url]
                try await CLI.ok(["init"], in: dir)
                try await CLI.ok(["append"], in: dir, input: bankEvents(events: 500, accounts: 5, seed: 8))
                try await CLI.ok(["flush"] + archive, in: dir, environment: env)
                #expect(try await CLI.ok(["verify"] + archive, in: dir, environment: env).hasPrefix("verify OK"))

                let segment = try #require(try await bucket.store.list(prefix: "").first { $0.key.hasSuffix(".zst") })
                var bytes = try await bucket.store.get(segment.key)
                bytes[bytes.count / 2] ^= 0x01
                try await bucket.store.overwrite(segment.key, bytes)

                let result = try await CLI.run(["verify"] + archive, in: dir, environment: env)
                #expect(result.status == 10, "verify exited \(result.status): \(result.stdout) \(result.stderr)")
                #expect(result.stdout.contains("verify FAILED"), "\(result.stdout)")
            }
        }
    }

    @Test func commonMistakesAreOneClearLine() async throws {
        try await withBucket { bucket in
            try await withTemporaryDirectory { dir in
                try await CLI.ok(["init"], in: dir)
                let missing = try await CLI.run(
                    ["verify", "--archive", "s3://no-such-bucket-here/x"], in: dir, environment: bucket.environment)
                #expect(missing.status == 1)
                #expect(missing.stderr.contains("NoSuchBucket") && missing.stderr.contains("no-such-bucket-here"))
                #expect(missing.stderr.split(separator: "\n").count == 1, "\(missing.stderr)")

                let unreachable = try await CLI.run(
                    ["verify", "--archive", bucket.url, "--s3-endpoint", "http://127.0.0.1:1"], in: dir,
                    environment: bucket.environment)
                #expect(unreachable.status == 1)
                #expect(unreachable.stderr.contains("connection refused"), "\(unreachable.stderr)")
                #expect(unreachable.stderr.split(separator: "\n").count == 1, "\(unreachable.stderr)")

                var noCredentials = bucket.environment
                noCredentials["AWS_ACCESS_KEY_ID"] = ""
                noCredentials["AWS_SECRET_ACCESS_KEY"] = ""
                noCredentials["HOME"] = dir
                let anonymous = try await CLI.run(
                    ["verify", "--archive", bucket.url], in: dir, environment: noCredentials)
                #expect(anonymous.status != 0)
                #expect(anonymous.stderr.contains("AWS_ACCESS_KEY_ID"), "\(anonymous.stderr)")
                #expect(!anonymous.stderr.contains("test-secret"))
            }
        }
    }
}
