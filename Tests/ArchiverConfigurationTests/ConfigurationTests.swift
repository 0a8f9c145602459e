import ArchiverConfiguration
import Testing

@Suite struct ConfigurationTests {
    /// Token entries as `archiver tokens generate` prints them (the hash of a token; no secret is needed here).
    static func entry(_ name: String, _ scopes: Set<APIScope>, fill: UInt8) -> APITokenEntry {
        APITokenEntry(name: name, scopes: scopes, digest: Array(repeating: fill, count: 32))
    }

    static let token = (token: "unused", entry: entry("app", [.append, .read], fill: 0x9f))

    @Test func precedenceIsFlagsThenEnvironmentThenFileThenDefaults() throws {
        let file = try ConfigSources.parse(
            yaml: """
                port: 7000
                flush-interval: 2
                lease-ttl: 10
                host: 127.0.0.2
                """, origin: "archiver.yaml")
        let sources = ConfigSources(
            file: file, filePath: "archiver.yaml",
            environment: ["ARCHIVER_PORT": "7100", "ARCHIVER_FLUSH_INTERVAL": "3", "HOME": "/root"])
        let effective = try EffectiveConfiguration(flags: ["port": "7200"], sources: sources)
        #expect(try effective.value(ConfigKeys.port) == 7200)
        #expect(effective.entry(ConfigKeys.port).origin == .flag("port"))
        #expect(try effective.value(ConfigKeys.flushInterval) == 3)
        #expect(effective.entry(ConfigKeys.flushInterval).origin == .environment("ARCHIVER_FLUSH_INTERVAL"))
        #expect(try effective.value(ConfigKeys.host) == "127.0.0.2")
        #expect(effective.entry(ConfigKeys.host).origin == .file("archiver.yaml"))
        #expect(effective.entry(ConfigKeys.maxBodyBytes).value == "8MiB")
        #expect(effective.entry(ConfigKeys.maxBodyBytes).origin == .defaultValue)
        let server = try effective.serverConfiguration()
        #expect(server.port == 7200 && server.flushInterval == 3 && server.leaseTTL == 10)
        #expect(server.maxBodyBytes == 8 << 20 && server.host == "127.0.0.2")
    }

    @Test func compactionScheduleIsOffByDefaultAndTakesAPeriod() throws {
        let none = try EffectiveConfiguration(flags: [:], sources: ConfigSources(environment: [:]))
        #expect(try none.serverConfiguration().compactEvery == 0)
        #expect(try none.serverConfiguration().compactTargetBytes == 256 << 20)
        let nightly = try EffectiveConfiguration(
            flags: ["compact-every": "24h"],
            sources: ConfigSources(environment: ["ARCHIVER_COMPACT_TARGET_SIZE": "64MiB"]))
        #expect(try nightly.serverConfiguration().compactEvery == 86_400)
        #expect(try nightly.serverConfiguration().compactTargetBytes == 64 << 20)
        for bad in ["24", "10s", "-1h", "daily"] {
            let effective = try EffectiveConfiguration(flags: ["compact-every": bad], sources: ConfigSources())
            #expect(throws: ConfigError.self, "\(bad)") { try effective.serverConfiguration() }
        }
    }

    @Test func listsComeFromYAMLListsOrSeparatedEnvironmentValues() throws {
        let other = (token: "unused", entry: Self.entry("ops", [.admin], fill: 0x4b))
        let file = try ConfigSources.parse(
            yaml: "tokens:\n  - \(Self.token.entry.entry)\n  - \(other.entry.entry)\n", origin: "f.yaml")
        let fromFile = try EffectiveConfiguration(flags: [:], sources: ConfigSources(file: file))
        #expect(try fromFile.serverConfiguration().tokens.map(\.name) == ["app", "ops"])
        let fromEnv = try EffectiveConfiguration(
            flags: [:], sources: ConfigSources(environment: ["ARCHIVER_TOKENS": Self.token.entry.entry]))
        #expect(try fromEnv.serverConfiguration().tokens == [Self.token.entry])
    }

    @Test func renderingRedactsSecrets() throws {
        let sources = ConfigSources(
            file: ["tokens": Self.token.entry.entry], filePath: "archiver.yaml",
            environment: ["ARCHIVER_STORE": "postgres://archiver:s3cret-pw@db:5432/events?password=other-pw"])
        let text = try EffectiveConfiguration(flags: [:], sources: sources).rendered()
        #expect(!text.contains("s3cret-pw") && !text.contains("other-pw"))
        #expect(!text.contains(Self.token.entry.entry.split(separator: ":").last!))
        #expect(text.contains("postgres://archiver:***@db:5432/events?password=***"))
        #expect(text.contains("app:append+read:<redacted>"))
        #expect(text.contains("port: 8080  # default"))
        // The rendering is itself a valid configuration file (minus the redacted parts).
        #expect(throws: Never.self) { try ConfigSources.parse(yaml: text, origin: "rendered") }
    }

    @Test(arguments: [
        ("prot: 80", "unknown key 'prot' in archiver.yaml; did you mean 'port'?"),
        ("flush_interval: 5", "unknown key 'flush_interval' in archiver.yaml; did you mean 'flush-interval'?"),
        ("colour: blue", "unknown key 'colour' in archiver.yaml; the keys are listed in docs/OPERATIONS.md"),
        ("port: [1, 2]", "'port' takes one value"),
        ("store:\n  url: x", "'store' must be a plain value"),
        ("- a\n- b", "top level"),
        ("port: 8080\n  bad: indent", "not valid YAML"),
    ])
    func badFilesAreRejected(yaml: String, message: String) {
        #expect {
            try ConfigSources.parse(yaml: yaml, origin: "archiver.yaml")
        } throws: { error in
            // One line, however the parser words it.
            guard let text = (error as? ConfigError)?.message, !text.contains("\n") else { return false }
            return text.contains(message)
        }
    }

    @Test(arguments: [
        ("port", "http", "port: 'http' is not a port number"),
        ("flush-interval", "-1", "flush-interval: '-1' is not a number of seconds"),
        ("max-body-bytes", "lots", "max-body-bytes: 'lots' is not a size"),
        ("log-level", "loud", "log-level: 'loud' is not trace"),
        ("tokens", "app:read:1234", "tokens: token 'app': the hash must be 64 hex digits"),
        ("s3-upload-concurrency", "0", "s3-upload-concurrency: '0' is not a whole number from 1 to 64"),
        ("s3-upload-concurrency", "many", "s3-upload-concurrency: 'many' is not a whole number from 1 to 64"),
        ("s3-part-size", "4MiB", "s3-part-size: '4MiB' is not a size from 5MiB to 5GiB"),
        ("s3-multipart-threshold", "6GiB", "s3-multipart-threshold: '6GiB' is not a size from 5MiB to 5GiB"),
        ("prefetch", "33", "prefetch: '33' is not a whole number from 1 to 32"),
    ])
    func badValuesNameTheKeyAndOrigin(key: String, value: String, message: String) {
        let sources = ConfigSources(environment: [ConfigKeys.named(key)!.environmentName: value])
        #expect {
            try EffectiveConfiguration(flags: [:], sources: sources)
        } throws: { error in
            let text = (error as? ConfigError)?.message ?? ""
            return text.contains(message) && text.contains("environment ARCHIVER_")
        }
    }

    @Test func remoteListeningNeedsTokens() throws {
        let open = try EffectiveConfiguration(flags: ["host": "0.0.0.0"], sources: ConfigSources())
        #expect(throws: ConfigError.self) { try open.serverConfiguration() }
        let secured = try EffectiveConfiguration(
            flags: ["host": "0.0.0.0", "tokens": Self.token.entry.entry], sources: ConfigSources())
        #expect(try secured.serverConfiguration().tokens.count == 1)
        let shortLease = try EffectiveConfiguration(
            flags: ["flush-interval": "10", "lease-ttl": "5"], sources: ConfigSources())
        #expect(throws: ConfigError.self) { try shortLease.serverConfiguration() }
    }
}
