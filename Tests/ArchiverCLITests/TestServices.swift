import Foundation
import Testing

/// The services `scripts/with-services.sh` starts for the run, from its environment. Suites that need one
/// are `.enabled(if:)` on it, so a missing service shows as skipped (and `make test` fails on skips).
enum TestServices {
    /// `ARCHIVER_TEST_POSTGRES_URL`: a throwaway PostgreSQL server.
    static let postgresURL = nonEmpty("ARCHIVER_TEST_POSTGRES_URL")
    /// `ARCHIVER_TEST_S3_ENDPOINT`: an S3 API server (moto).
    static let s3Endpoint = nonEmpty("ARCHIVER_TEST_S3_ENDPOINT")

    static let needsPostgres: Comment = "needs ARCHIVER_TEST_POSTGRES_URL: run via scripts/with-services.sh"
    static let needsS3: Comment = "needs ARCHIVER_TEST_S3_ENDPOINT: run via scripts/with-services.sh"

    private static func nonEmpty(_ name: String) -> String? {
        guard let value = ProcessInfo.processInfo.environment[name], !value.isEmpty else { return nil }
        return value
    }
}
