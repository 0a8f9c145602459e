import Foundation
import Testing

/// `archiver config check` and the configuration file as every command sees it.
@Suite struct ConfigCommandTests {
    @Test func precedenceIsFlagThenEnvironmentThenFileThenDefault() async throws {
        try await withTemporaryDirectory { dir in
            try "port: 7000\nflush-interval: 2\nlease-ttl: 9\nschema: from_file\n".write(
                toFile: dir + "/archiver.yaml", atomically: true, encoding: .utf8)
            let out = try await CLI.ok(
                ["config", "check", "--port", "7200"], in: dir,
                environment: ["ARCHIVER_PORT": "7100", "ARCHIVER_FLUSH_INTERVAL": "3"])
            #expect(out.contains("port: 7200  # flag --port"), "\(out)")
            #expect(out.contains("flush-interval: 3  # environment ARCHIVER_FLUSH_INTERVAL"))
            #expect(out.contains("lease-ttl: 9  # file archiver.yaml"))
            #expect(out.contains("max-body-bytes: 8MiB  # default"))
            #expect(out.contains("schema: from_file  # file archiver.yaml"))
        }
    }

    @Test func secretsAreRedacted() async throws {
        try await withTemporaryDirectory { dir in
            let generated = try await CLI.ok(["tokens", "generate", "--name", "ops", "--scope", "admin"], in: dir)
            let entry = String(generated.split(separator: "\n").first { $0.hasPrefix("entry: ") }!.dropFirst(7))
            let hash = String(entry.split(separator: ":").last!)
            try "tokens: [\"\(entry)\"]\n".write(toFile: dir + "/custom.yaml", atomically: true, encoding: .utf8)
            let out = try await CLI.ok(
                ["config", "check", "--config", "custom.yaml"], in: dir,
                environment: ["ARCHIVER_STORE": "postgres://app:hunter2@db.internal:5432/events"])
            #expect(!out.contains(hash) && !out.contains("hunter2"), "\(out)")
            #expect(out.contains("ops:admin:<redacted>"))
            #expect(out.contains("postgres://app:***@db.internal:5432/events"))
        }
    }

    @Test func unknownKeysAndBadValuesExit64() async throws {
        try await withTemporaryDirectory { dir in
            try "flush-intervall: 3\n".write(toFile: dir + "/archiver.yaml", atomically: true, encoding: .utf8)
            let unknown = try await CLI.run(["config", "check"], in: dir)
            #expect(unknown.status == 64)
            #expect(unknown.stderr.contains("unknown key 'flush-intervall'; did you mean 'flush-interval'?"))
            // The same file stops every command, not only `config check`.
            #expect(try await CLI.run(["status"], in: dir).status == 64)

            try "port: http\n".write(toFile: dir + "/archiver.yaml", atomically: true, encoding: .utf8)
            let bad = try await CLI.run(["config", "check"], in: dir)
            #expect(
                bad.status == 64
                    && bad.stderr.contains(
                        "error: port: 'http' is not a port number (0...65535) (from file archiver.yaml)")
            )
            let missing = try await CLI.run(["config", "check", "--config", "nope.yaml"], in: dir)
            #expect(missing.status == 64 && missing.stderr.contains("nope.yaml does not exist"))
        }
    }

    @Test func s3TransferTuningAndReplayPrefetchAreConfigurationKeys() async throws {
        try await withTemporaryDirectory { dir in
            try "s3-part-size: 16MiB\nprefetch: 6\n".write(
                toFile: dir + "/archiver.yaml", atomically: true, encoding: .utf8)
            let out = try await CLI.ok(
                ["config", "check", "--s3-upload-concurrency", "8"], in: dir,
                environment: ["ARCHIVER_S3_MULTIPART_THRESHOLD": "32MiB"])
            #expect(out.contains("s3-upload-concurrency: 8  # flag --s3-upload-concurrency"), "\(out)")
            #expect(out.contains("s3-multipart-threshold: 32MiB  # environment ARCHIVER_S3_MULTIPART_THRESHOLD"))
            #expect(out.contains("s3-part-size: 16MiB  # file archiver.yaml"))
            #expect(out.contains("prefetch: 6  # file archiver.yaml"))
            let defaults = try await withTemporaryDirectory { try await CLI.ok(["config", "check"], in: $0) }
            for line in [
                "s3-upload-concurrency: 4  # default", "s3-part-size: 8MiB  # default",
                "s3-multipart-threshold: 16MiB  # default", "prefetch: 3  # default",
            ] {
                #expect(defaults.contains(line), "\(line)")
            }

            // A bad value stops `config check` and the commands that use the key, before any S3 request (there
            // is no server here), with one line naming the key, the value and where it came from.
            try await CLI.ok(["init"], in: dir)
            let cases: [([String], [String: String], String)] = [
                (
                    ["config", "check", "--s3-upload-concurrency", "0"], [:],
                    "s3-upload-concurrency: '0' is not a whole number from 1 to 64 (from flag --s3-upload-concurrency)"
                ),
                (
                    ["flush", "--archive", "s3://bench-bucket/x", "--s3-part-size", "4MiB"], [:],
                    "s3-part-size: '4MiB' is not a size from 5MiB to 5GiB (from flag --s3-part-size)"
                ),
                (
                    ["verify", "--archive", "s3://bench-bucket/x"], ["ARCHIVER_S3_UPLOAD_CONCURRENCY": "65"],
                    "s3-upload-concurrency: '65' is not a whole number from 1 to 64 "
                        + "(from environment ARCHIVER_S3_UPLOAD_CONCURRENCY)"
                ),
                (
                    ["replay", "--prefetch", "0"], [:],
                    "prefetch: '0' is not a whole number from 1 to 32 (from flag --prefetch)"
                ),
            ]
            for (args, environment, message) in cases {
                let result = try await CLI.run(args, in: dir, environment: environment)
                #expect(result.status == 64, "\(args): \(result.stderr)")
                #expect(result.stderr == "error: \(message)\n", "\(args)")
            }
        }
    }

    @Test func theFileFeedsTheSameKeysToEveryCommand() async throws {
        try await withTemporaryDirectory { dir in
            try "store: sqlite:hot/events.db\narchive: cold\n".write(
                toFile: dir + "/settings.yaml", atomically: true, encoding: .utf8)
            try FileManager.default.createDirectory(atPath: dir + "/hot", withIntermediateDirectories: true)
            try await CLI.ok(["init"], in: dir, environment: ["ARCHIVER_CONFIG": "settings.yaml"])
            try await CLI.ok(
                ["append", "--config", "settings.yaml"], in: dir, input: bankEvents(events: 20, accounts: 2, seed: 3))
            try await CLI.ok(["flush", "--quiet", "--config=settings.yaml"], in: dir)
            #expect(FileManager.default.fileExists(atPath: dir + "/hot/events.db"))
            #expect(FileManager.default.fileExists(atPath: dir + "/cold"))
            #expect(!FileManager.default.fileExists(atPath: dir + "/archiver.db"))
            let verified = try await CLI.ok(["verify"], in: dir, environment: ["ARCHIVER_CONFIG": "settings.yaml"])
            #expect(verified.contains("20 events"))
            // A flag still wins over the file.
            let status = try await CLI.run(
                ["status", "--config", "settings.yaml", "--store", "sqlite:other.db"], in: dir)
            #expect(status.status != 0 && status.stderr.contains("other.db"))
        }
    }
}
