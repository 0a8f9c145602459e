import ArchiverConfiguration
import Testing

/// Precedence: flag > `ARCHIVER_*` environment > `archiver.yaml` > the key's default, decided in one place.
@Suite struct ConfigResolverTests {
    struct Row: Sendable, CustomTestStringConvertible {
        var flag: String?
        var environment: String?
        var file: String?
        var expected: Int
        var origin: ConfigOrigin

        var testDescription: String {
            "flag \(flag ?? "-") env \(environment ?? "-") file \(file ?? "-") → \(expected) from \(origin)"
        }
    }

    static let rows: [Row] = [
        Row(flag: "7200", environment: "7100", file: "7000", expected: 7200, origin: .flag("port")),
        Row(flag: "7200", environment: nil, file: "7000", expected: 7200, origin: .flag("port")),
        Row(flag: "7200", environment: "7100", file: nil, expected: 7200, origin: .flag("port")),
        Row(flag: nil, environment: "7100", file: "7000", expected: 7100, origin: .environment("ARCHIVER_PORT")),
        Row(flag: nil, environment: "7100", file: nil, expected: 7100, origin: .environment("ARCHIVER_PORT")),
        Row(flag: nil, environment: nil, file: "7000", expected: 7000, origin: .file("archiver.yaml")),
        // An empty environment variable is unset, as in a shell's `ARCHIVER_PORT= archiver …`.
        Row(flag: nil, environment: "", file: "7000", expected: 7000, origin: .file("archiver.yaml")),
        Row(flag: nil, environment: nil, file: nil, expected: 8080, origin: .defaultValue),
    ]

    @Test(arguments: rows)
    func flagThenEnvironmentThenFileThenDefault(row: Row) throws {
        let sources = ConfigSources(
            file: row.file.map { ["port": $0] } ?? [:], filePath: "archiver.yaml",
            environment: row.environment.map { ["ARCHIVER_PORT": $0] } ?? [:])
        let resolver = ConfigResolver(sources: sources).with(flag: row.flag, for: ConfigKeys.port)
        #expect(try resolver.value(ConfigKeys.port) == row.expected)
        let found = try #require(resolver.lookup(ConfigKeys.port.descriptor))
        #expect(found.origin == row.origin)
        #expect(found.value == row.flag ?? row.environment.flatMap { $0.isEmpty ? nil : $0 } ?? row.file ?? "8080")
    }

    @Test func onlyTheWinningValueIsChecked() throws {
        let sources = ConfigSources(file: ["port": "http"], filePath: "archiver.yaml", environment: [:])
        #expect(try ConfigResolver(flags: ["port": "9000"], sources: sources).value(ConfigKeys.port) == 9000)
        #expect {
            try ConfigResolver(sources: sources).value(ConfigKeys.port)
        } throws: { error in
            (error as? ConfigError)?.message
                == "port: 'http' is not a port number (0...65535) (from file archiver.yaml)"
        }
    }

    @Test func valuesAreTyped() throws {
        let sources = ConfigSources(
            file: ["trusted-keys": "a.pub:b.pub", "s3-path-style": "true"], filePath: "f.yaml",
            environment: ["ARCHIVER_TARGET_SIZE": "2MiB", "ARCHIVER_LEASE_TTL": "7.5"])
        let resolver = ConfigResolver(flags: ["holder": "pod-1"], sources: sources)
        #expect(try resolver.value(ConfigKeys.targetSize) == 2 << 20)
        #expect(try resolver.value(ConfigKeys.leaseTTL) == 7.5)
        #expect(try resolver.value(ConfigKeys.trustedKeys) == ["a.pub", "b.pub"])
        #expect(try resolver.value(ConfigKeys.s3PathStyle) == true)
        #expect(try resolver.value(ConfigKeys.holder) == "pod-1")
        // Unset keys: nil, an empty list, or the key's default.
        let empty = ConfigResolver(sources: ConfigSources())
        #expect(try empty.value(ConfigKeys.holder) == nil)
        #expect(try empty.value(ConfigKeys.tokens) == [])
        #expect(try empty.value(ConfigKeys.s3PartSize) == 8 << 20)
    }

    @Test func aListFlagIsNamedByItsRepeatedFlag() throws {
        let resolver = ConfigResolver(flags: ["trusted-keys": "a.pub:b.pub"], sources: ConfigSources())
        #expect(resolver.lookup(ConfigKeys.trustedKeys.descriptor)?.origin == .flag("trusted-key"))
    }
}
