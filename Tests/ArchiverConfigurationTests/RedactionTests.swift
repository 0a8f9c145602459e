import ArchiverConfiguration
import Testing

/// Every secret in a store URL is redacted, not only the first.
@Suite struct RedactionTests {
    @Test(arguments: [
        (
            "postgres://app:pw1@db:5432/x?sslpassword=pw2&password=pw3&sslmode=require",
            "postgres://app:***@db:5432/x?sslpassword=***&password=***&sslmode=require"
        ),
        ("postgresql://db/x?password=pw1&password=pw2", "postgresql://db/x?password=***&password=***"),
        (
            "postgres://u@db/x?passfile=/run/pw1/.pgpass&sslkey=/run/pw2.key&application_name=billing",
            "postgres://u@db/x?passfile=***&sslkey=***&application_name=billing"
        ),
        ("postgres://u:p%40pw1@db/x", "postgres://u:***@db/x"),
        ("postgres://u:p@pw1@db/x?token=pw2&api_key=pw3", "postgres://u:***@db/x?token=***&api_key=***"),
        ("postgres://u:p?pw1@db/x?PASSWORD=pw2", "postgres://u:***@db/x?PASSWORD=***"),
        ("postgres://db/x?client_secret=pw1#pw-free-fragment", "postgres://db/x?client_secret=***#pw-free-fragment"),
        ("./archiver.db", "./archiver.db"),
        ("sqlite:hot/events.db", "sqlite:hot/events.db"),
    ])
    func everySecretInAURLIsRedacted(url: String, redacted: String) {
        let shown = Redaction.url(url)
        #expect(shown == redacted)
        #expect(!shown.contains("pw1") && !shown.contains("pw2") && !shown.contains("pw3"))
    }

    @Test func configCheckRedactsEverySecretOfTheStore() throws {
        let store =
            "postgres://archiver:first-pw@db:5432/events?sslpassword=second-pw&password=third-pw&sslmode=verify-full"
        let text = try EffectiveConfiguration(
            flags: [:], sources: ConfigSources(environment: ["ARCHIVER_STORE": store])
        ).rendered()
        for secret in ["first-pw", "second-pw", "third-pw"] { #expect(!text.contains(secret), "\(text)") }
        #expect(
            text.contains(
                "store: \"postgres://archiver:***@db:5432/events?sslpassword=***&password=***&sslmode=verify-full\""
                    + "  # environment ARCHIVER_STORE"), "\(text)")
    }

    @Test func aBadSecretValueIsNotEchoed() {
        #expect {
            try EffectiveConfiguration(flags: ["tokens": "app:read:secret-ish"], sources: ConfigSources())
        } throws: { error in
            let message = (error as? ConfigError)?.message ?? ""
            return message.hasPrefix("tokens: token 'app': the hash must be 64 hex digits")
                && !message.contains("secret-ish")
        }
    }
}
