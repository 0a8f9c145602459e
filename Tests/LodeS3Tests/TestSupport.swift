import Foundation
import Lode
import NIOCore
import TestSupport
import Testing

@testable import LodeS3

/// The checked-in fixtures (`Tests/LodeS3Tests/Fixtures`) and reference scripts (`Reference`).
enum Fixtures {
    static var root: String {
        if let url = Bundle.module.url(forResource: "Fixtures", withExtension: nil) { return url.path }
        return URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures").path
    }

    static var referenceScripts: String {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Reference").path
    }
}

/// Runs the reference script `script` with `input` on stdin and returns stdout; a non-zero exit is a thrown error
/// with stderr.
func runReference(_ script: String, input: [UInt8]) async throws -> [UInt8] {
    try await runPython([Fixtures.referenceScripts + "/" + script], stdin: input)
}

/// A deterministic generator (xorshift64*), so a failing random case can be reproduced from its seed.
struct SeededGenerator: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed | 1 }
    mutating func next() -> UInt64 {
        state ^= state >> 12
        state ^= state << 25
        state ^= state >> 27
        return state &* 2_685_821_657_736_338_717
    }
}

/// Test credentials; moto accepts any.
let testCredentials = S3Credentials(accessKeyID: "AKIDTESTKEY", secretAccessKey: "test-secret-key-9f8e7d")

/// The S3 API server of the test run (`ARCHIVER_TEST_S3_ENDPOINT`, started by scripts/with-services.sh).
enum S3TestServer {
    /// Whether the run has an S3 API server; suites that need one are `.enabled(if: S3TestServer.isAvailable)`,
    /// so a missing server shows as skipped (and CI fails on skips).
    static var isAvailable: Bool { !(ProcessInfo.processInfo.environment["ARCHIVER_TEST_S3_ENDPOINT"] ?? "").isEmpty }

    /// The endpoint; records an issue when a test that is not gated on ``isAvailable`` asks without a server.
    static func endpoint() -> String? {
        guard isAvailable, let url = ProcessInfo.processInfo.environment["ARCHIVER_TEST_S3_ENDPOINT"] else {
            Issue.record("ARCHIVER_TEST_S3_ENDPOINT is not set: run the tests with scripts/with-services.sh")
            return nil
        }
        return url
    }

    /// A configuration for a fresh random bucket at `endpoint`, path-style, fast retries.
    static func configuration(endpoint: String, prefix: String = "archive/") throws -> S3Configuration {
        let bucket = "t-" + UUID().uuidString.lowercased().prefix(18)
        var configuration = try S3Configuration(
            url: "s3://\(bucket)/\(prefix)", endpoint: endpoint, region: "us-east-1", credentials: testCredentials)
        configuration.addressing = .pathStyle
        configuration.retry = S3RetryPolicy(maxAttempts: 5, baseDelay: .milliseconds(20), maxDelay: .milliseconds(200))
        return configuration
    }
}

/// Runs `body` with a store in a fresh bucket (created first, emptied and deleted afterwards, also on errors).
/// Callers' suites are gated on ``S3TestServer/isAvailable``.
func withS3Store(
    prefix: String = "archive/", configure: (inout S3Configuration) -> Void = { _ in },
    createBucketHeaders: [(name: String, value: String)] = [], _ body: (S3Store) async throws -> Void
) async throws {
    guard let endpoint = S3TestServer.endpoint() else { return }
    var configuration = try S3TestServer.configuration(endpoint: endpoint, prefix: prefix)
    configure(&configuration)
    let store = S3Store(configuration: configuration)
    try await store.createBucket(headers: createBucketHeaders)
    do {
        try await body(store)
    } catch {
        await store.deleteBucketAndContents()
        throw error
    }
    await store.deleteBucketAndContents()
}

func bytes(_ text: String) -> [UInt8] { Array(text.utf8) }

/// Expects `body` to throw a ``LodeError`` with `code` and returns it.
@discardableResult
func expectLodeError<T>(
    _ code: LodeError.Code, sourceLocation: SourceLocation = #_sourceLocation, _ body: () async throws -> T
) async -> LodeError? {
    do {
        _ = try await body()
        Issue.record("expected LodeError \(code), but nothing was thrown", sourceLocation: sourceLocation)
        return nil
    } catch let error as LodeError {
        #expect(error.code == code, "got \(error.code): \(error.message)", sourceLocation: sourceLocation)
        return error
    } catch {
        Issue.record("expected LodeError \(code), got \(error)", sourceLocation: sourceLocation)
        return nil
    }
}

/// Expects `body` to throw an ``S3Error`` with `code` and returns it.
@discardableResult
func expectS3Error<T>(
    _ code: S3Error.Code, sourceLocation: SourceLocation = #_sourceLocation, _ body: () async throws -> T
) async -> S3Error? {
    do {
        _ = try await body()
        Issue.record("expected S3Error \(code), but nothing was thrown", sourceLocation: sourceLocation)
        return nil
    } catch let error as S3Error {
        #expect(error.code == code, "got \(error.code): \(error.message)", sourceLocation: sourceLocation)
        return error
    } catch {
        Issue.record("expected S3Error \(code), got \(error)", sourceLocation: sourceLocation)
        return nil
    }
}

/// Compares large byte arrays without Swift Testing's element-wise diff (quadratic on megabytes): reports the
/// sizes and the first differing offset instead.
func expectSameBytes(
    _ actual: [UInt8], _ expected: [UInt8], _ comment: String = "", sourceLocation: SourceLocation = #_sourceLocation
) {
    guard actual != expected else { return }
    let firstDifference =
        zip(actual, expected).enumerated().first { $0.element.0 != $0.element.1 }?.offset
        ?? min(actual.count, expected.count)
    Issue.record(
        "bytes differ \(comment): \(actual.count) vs \(expected.count) bytes, first difference at \(firstDifference)",
        sourceLocation: sourceLocation)
}
