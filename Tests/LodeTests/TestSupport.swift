import Foundation
import Lode
import LodeS3
import TestSupport
import Testing

/// Creates a fresh temporary directory, runs `body`, and removes the directory on every path.
func withTemporaryDirectory<T>(_ body: (String) async throws -> T) async throws -> T {
    let path = FileManager.default.temporaryDirectory
        .appendingPathComponent("lode-tests-\(UUID().uuidString)").path
    try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: path) }
    return try await body(path)
}

/// The checked-in fixture trees (`Tests/LodeTests/Fixtures`), read-only.
enum Fixtures {
    static var root: String {
        if let url = Bundle.module.url(forResource: "Fixtures", withExtension: nil) { return url.path }
        return URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures").path
    }

    static func path(_ name: String) -> String { root + "/" + name }

    static func store(_ name: String) -> FileStore { FileStore(root: path(name)) }

    static func bytes(_ relativePath: String) throws -> [UInt8] {
        Array(try Data(contentsOf: URL(fileURLWithPath: path(relativePath))))
    }

    /// Copies a fixture tree into `directory` (for tests that change it) and returns a store over the copy.
    static func copy(_ name: String, into directory: String) throws -> FileStore {
        let target = directory + "/" + name
        try FileManager.default.copyItem(atPath: path(name), toPath: target)
        return FileStore(root: target)
    }
}

/// The store kinds every behavioural test runs against: file, memory, and S3 (a fresh bucket on the test run's
/// S3 API server) when `ARCHIVER_TEST_S3_ENDPOINT` is set. Without the server the S3 cases are left out and
/// `S3ServerTests` shows as skipped, so the gap is visible (and CI, which fails on skips, goes red).
enum StoreKind: String, CaseIterable, CustomTestStringConvertible, Sendable {
    case file, memory, s3
    var testDescription: String { rawValue }

    static var s3IsAvailable: Bool { !(ProcessInfo.processInfo.environment["ARCHIVER_TEST_S3_ENDPOINT"] ?? "").isEmpty }

    static var allCases: [StoreKind] { s3IsAvailable ? [.file, .memory, .s3] : [.file, .memory] }

    func withStore<T>(_ body: (any ObjectStore) async throws -> T) async throws -> T {
        switch self {
        case .memory: return try await body(MemoryStore())
        case .file: return try await withTemporaryDirectory { try await body(FileStore(root: $0 + "/store")) }
        case .s3: return try await withS3Store(body)
        }
    }
}

/// A store in a fresh bucket of the test S3 server, removed afterwards (also when `body` throws).
func withS3Store<T>(_ body: (any ObjectStore) async throws -> T) async throws -> T {
    guard let endpoint = ProcessInfo.processInfo.environment["ARCHIVER_TEST_S3_ENDPOINT"], !endpoint.isEmpty else {
        throw S3TestServerMissing()
    }
    let bucket = "lode-" + UUID().uuidString.lowercased().prefix(18)
    var configuration = try S3Configuration(
        url: "s3://\(bucket)/store", endpoint: endpoint, region: "us-east-1",
        credentials: S3Credentials(accessKeyID: "test", secretAccessKey: "test"))
    configuration.addressing = .pathStyle
    configuration.retry = S3RetryPolicy(maxAttempts: 5, baseDelay: .milliseconds(20), maxDelay: .milliseconds(200))
    let store = S3Store(configuration: configuration)
    try await store.createBucket()
    do {
        let result = try await body(store)
        await store.deleteBucketAndContents()
        return result
    } catch {
        await store.deleteBucketAndContents()
        throw error
    }
}

struct S3TestServerMissing: Error, CustomStringConvertible {
    var description: String { "ARCHIVER_TEST_S3_ENDPOINT is not set: run the tests with scripts/with-services.sh" }
}

func bytes(_ text: String) -> [UInt8] { Array(text.utf8) }

func text(_ bytes: [UInt8]) -> String { String(decoding: bytes, as: UTF8.self) }

/// Expects `body` to throw a ``LodeError`` with `code` and returns it for further checks.
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

/// All records of the chain up to `snapshotID`, as strings.
func readAll(_ dataset: LodeDataset, upTo snapshotID: String? = nil) async throws -> [String] {
    var lines: [String] = []
    for manifest in try await dataset.history(upTo: snapshotID) {
        try await dataset.forEachRecord(in: manifest) { lines.append(String(decoding: $0, as: UTF8.self)) }
    }
    return lines
}

/// MD5 hex computed by the `md5sum` tool: an independent reference for Lode's own hashing.
func md5Hex(_ bytes: [UInt8]) async throws -> String {
    String(try await runTool("/usr/bin/md5sum", stdin: bytes).text.prefix(32))
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

/// `expectSameBytes` for arrays of records.
func expectSameRecords(
    _ actual: [[UInt8]], _ expected: [[UInt8]], sourceLocation: SourceLocation = #_sourceLocation
) {
    guard actual != expected else { return }
    let index =
        zip(actual, expected).enumerated().first { $0.element.0 != $0.element.1 }?.offset
        ?? min(actual.count, expected.count)
    Issue.record(
        "records differ: \(actual.count) vs \(expected.count) records, first difference at record \(index)",
        sourceLocation: sourceLocation)
}
