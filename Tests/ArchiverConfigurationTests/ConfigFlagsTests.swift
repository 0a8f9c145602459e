import ArchiverConfiguration
import Testing

/// `serve`'s flag map is read from the command line by the keys' flag names.
@Suite struct ConfigFlagsTests {
    @Test func valueOptionsTogglesAndRepeatedListFlags() {
        let flags = ConfigFlags.values(in: [
            "serve", "--port", "9000", "--store=postgres://db/x", "--s3-path-style", "--token", "a:read:00",
            "--token=b:admin:11", "--trusted-key", "one.pub", "--trusted-key", "two.pub", "--port", "9001",
        ])
        #expect(
            flags == [
                "port": "9001", "store": "postgres://db/x", "s3-path-style": "true", "tokens": "a:read:00 b:admin:11",
                "trusted-keys": "one.pub:two.pub",
            ])
    }

    @Test func otherArgumentsAndEverythingAfterTheTerminatorAreNotFlags() {
        let flags = ConfigFlags.values(in: ["config", "check", "--verbose", "--host", "0.0.0.0", "--", "--port", "1"])
        #expect(flags == ["host": "0.0.0.0"])
    }

    @Test func everyKeyIsReadByItsFlagName() {
        for key in ConfigKeys.all {
            let arguments = key.kind == .toggle ? ["--\(key.flagName)"] : ["--\(key.flagName)", "v"]
            #expect(ConfigFlags.values(in: arguments)[key.name] == (key.kind == .toggle ? "true" : "v"), "\(key.name)")
        }
    }
}
