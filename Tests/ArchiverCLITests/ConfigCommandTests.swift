import ArchiverConfiguration
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
            #expect(
                unknown.stderr
                    == "error: unknown key 'flush-intervall' in archiver.yaml; did you mean 'flush-interval'?\n")
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

    @Test func configCheckPrintsEveryKeysDefaultFromTheKey() async throws {
        let out = try await withTemporaryDirectory { try await CLI.ok(["config", "check"], in: $0) }
        for key in ConfigKeys.all {
            if let value = key.defaultText, !key.isList {
                let shown = key.isSecret ? Redaction.value(value, for: key) : value
                #expect(out.contains("\n\(key.name): \(shown)  # default"), "\(key.name)")
            } else if key.isList {
                #expect(out.contains("\n\(key.name): []  # default"), "\(key.name)")
            } else {
                #expect(out.contains("\n# \(key.name): (unset)"), "\(key.name)")
            }
        }
        #expect(out.split(separator: "\n").count == ConfigKeys.all.count + 1)
    }

    /// `serve` takes a flag for every key, and its help shows the key's default and variable.
    @Test func serveHelpDerivesEveryFlagFromItsKey() async throws {
        let help = try await withTemporaryDirectory { try await CLI.ok(["serve", "--help"], in: $0) }
        let words = help.split(whereSeparator: \.isWhitespace).joined(separator: " ")
        let elsewhere: Set = [
            "prefetch", "subject-field", "checkpoint-every", "compact-target-size", "compact-zstd-level",
            "compact-retention",
        ]
        for key in ConfigKeys.all where !elsewhere.contains(key.name) {
            #expect(words.contains("--\(key.flagName)"), "\(key.name)")
        }
        for key in [ConfigKeys.port.descriptor, ConfigKeys.maxBodyBytes.descriptor, ConfigKeys.s3PartSize.descriptor] {
            #expect(words.contains("(default \(key.defaultText!)). Also \(key.environmentName)."), "\(key.name)")
        }
        #expect(words.contains("Listens on 127.0.0.1:8080 by default"))
    }

    @Test func everyServeFlagReachesConfigCheck() async throws {
        try await withTemporaryDirectory { dir in
            let entry = "app:read:" + String(repeating: "ab", count: 32)
            let out = try await CLI.ok(
                [
                    "config", "check", "--token", entry, "--token=ops:admin:" + String(repeating: "cd", count: 32),
                    "--trusted-key", "a.pub", "--trusted-key", "b.pub", "--s3-path-style", "--holder", "pod-7",
                    "--sqlite-synchronous", "normal", "--compression=gzip:6", "--s3-object-lock-days", "3",
                    "--s3-object-lock-mode", "GOVERNANCE",
                ], in: dir)
            for line in [
                "tokens:  # flag --token\n  - \"app:read:<redacted>\"\n  - \"ops:admin:<redacted>\"",
                "trusted-keys:  # flag --trusted-key\n  - a.pub\n  - b.pub",
                "s3-path-style: true  # flag --s3-path-style",
                "holder: pod-7  # flag --holder", "sqlite-synchronous: normal  # flag --sqlite-synchronous",
                "compression: gzip:6  # flag --compression", "s3-object-lock-days: 3  # flag --s3-object-lock-days",
            ] {
                #expect(out.contains(line), "\(line)\n\(out)")
            }
            #expect(!out.contains("abababab") && !out.contains("cdcdcdcd"))
        }
    }

    @Test func everySecretOfTheStoreURLIsRedacted() async throws {
        try await withTemporaryDirectory { dir in
            let store = "postgres://app:pw-one@db:5432/events?sslpassword=pw-two&password=pw-three&sslmode=require"
            let out = try await CLI.ok(["config", "check", "--store", store], in: dir)
            #expect(!out.contains("pw-one") && !out.contains("pw-two") && !out.contains("pw-three"), "\(out)")
            #expect(out.contains("postgres://app:***@db:5432/events?sslpassword=***&password=***&sslmode=require"))
            // A command that cannot reach the store does not print the secrets either.
            let status = try await CLI.run(
                ["status", "--store", store.replacingOccurrences(of: "db:5432", with: "127.0.0.1:1")], in: dir)
            #expect(status.status != 0)
            #expect(
                !status.stderr.contains("pw-one") && !status.stderr.contains("pw-two")
                    && !status.stderr.contains("pw-three"))
        }
    }

    @Test func aKeyWrittenWithUnderscoresNamesTheKey() async throws {
        try await withTemporaryDirectory { dir in
            try "s3_part_size: 16MiB\n".write(toFile: dir + "/archiver.yaml", atomically: true, encoding: .utf8)
            let result = try await CLI.run(["flush"], in: dir)
            #expect(result.status == 64)
            #expect(
                result.stderr == "error: unknown key 's3_part_size' in archiver.yaml; did you mean 's3-part-size'?\n")
        }
    }
}
