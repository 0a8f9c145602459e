import Foundation
import Lode
import NIOHTTP1
import Testing

@testable import LodeS3

/// Real S3 (moto) behind a fault-injecting proxy: throttling, 500s, connections dropped mid-upload, answers lost
/// after the write happened, slow answers. After each run: no lost object, no duplicate, no orphaned upload.
@Suite(.enabled(if: S3TestServer.isAvailable, "needs ARCHIVER_TEST_S3_ENDPOINT: run via scripts/with-services.sh"))
struct FaultInjectionTests {
    /// A store whose endpoint is the proxy, in a fresh bucket created directly at moto.
    func withProxiedStore(
        decide: @escaping @Sendable (HTTPRequestHead) -> FaultProxy.Action,
        configure: (inout S3Configuration) -> Void = { _ in },
        _ body: (S3Store, S3Store, FaultProxy) async throws -> Void
    ) async throws {
        try await withS3Store(configure: configure) { direct in
            try await FaultProxy.with(upstream: direct.configuration.endpoint.description, decide: decide) { proxy in
                var configuration = direct.configuration
                configuration.endpoint = try S3Configuration.Endpoint(proxy.endpoint)
                try await body(S3Store(configuration: configuration), direct, proxy)
            }
        }
    }

    @Test func throttlingAndServerErrorsAreRetried() async throws {
        let counter = Counter()
        try await withProxiedStore(decide: { head in
            // Every request kind fails twice (503 SlowDown, then 500), then goes through.
            let n = counter.next("\(head.method) \(head.uri.prefix { $0 != "?" })")
            switch n {
            case 1: return .respond(status: 503, headers: [], body: slowDownBody)
            case 2: return .respond(status: 500, headers: [], body: internalErrorBody)
            default: return .forward
            }
        }) { store, direct, proxy in
            try await store.put("a", bytes("alpha"))
            #expect(try await store.get("a") == bytes("alpha"))
            #expect(try await store.list(prefix: "").map(\.key) == ["a"])
            try await store.compareAndSwap("latest", expected: "", replacement: "1")
            try await store.delete("a")
            #expect(try await direct.list(prefix: "").map(\.key) == ["latest"])
            #expect(proxy.records.filter { $0.action == "respond" }.count >= 10)
        }
    }

    @Test func throttlingThatNeverEndsIsOneClearError() async throws {
        try await withProxiedStore(decide: { _ in .respond(status: 503, headers: [], body: slowDownBody) }) {
            store, _, proxy in
            let error = await expectS3Error(.throttled) { try await store.get("a") }
            #expect(error?.message.contains("SlowDown") == true)
            #expect(proxy.records.count == store.configuration.retry.maxAttempts)
        }
    }

    /// The write lands but the answer is lost (500 after forwarding, or a dropped connection): the store must
    /// find its own object and report success, not `pathExists`, and never write twice.
    @Test(arguments: ["500", "drop"])
    func anAmbiguousConditionalPutIsCheckedNotRepeated(mode: String) async throws {
        let counter = Counter()
        try await withProxiedStore(decide: { head in
            guard head.method == .PUT, head.uri.contains("/archive/k"), counter.next("put") == 1 else {
                return .forward
            }
            return mode == "500" ? .forwardThenRespond(status: 500, body: internalErrorBody) : .forwardThenDrop
        }) { store, direct, proxy in
            try await store.put("k", bytes("payload"))
            #expect(try await direct.get("k") == bytes("payload"))
            // Exactly one PUT of the key reached the server.
            #expect(proxy.records.filter { $0.method == "PUT" && $0.uri.contains("/archive/k") }.count == 1)
            // A later writer still sees create-only semantics.
            await expectLodeError(.pathExists) { try await store.put("k", bytes("other")) }
        }
    }

    @Test func anAmbiguousCompareAndSwapIsCheckedNotRepeated() async throws {
        let counter = Counter()
        try await withProxiedStore(decide: { head in
            guard head.method == .PUT, head.uri.contains("latest"), counter.next("put") == 2 else { return .forward }
            return .forwardThenDrop
        }) { store, direct, _ in
            try await store.compareAndSwap("latest", expected: "", replacement: "1")
            try await store.compareAndSwap("latest", expected: "1", replacement: "2")  // answer lost
            #expect(try await direct.get("latest") == bytes("2"))
            try await store.compareAndSwap("latest", expected: "2", replacement: "3")
            #expect(try await direct.get("latest") == bytes("3"))
        }
    }

    /// Parts dropped mid-upload and a lost completion answer: the upload still completes once, the content is
    /// exact, and no multipart upload is left open.
    @Test func multipartSurvivesDroppedPartsAndALostCompletion() async throws {
        let counter = Counter()
        try await withProxiedStore(
            decide: { head in
                if head.method == .PUT, head.uri.contains("partNumber=2"), counter.next("part2") <= 2 { return .drop }
                if head.method == .POST, head.uri.contains("uploadId="), counter.next("complete") == 1 {
                    return .forwardThenRespond(status: 500, body: internalErrorBody)
                }
                return .forward
            },
            configure: {
                $0.multipartThreshold = 5 << 20
                $0.partSize = 5 << 20
            }
        ) { store, direct, proxy in
            let path = FileManager.default.temporaryDirectory.appendingPathComponent("f-\(UUID().uuidString)").path
            defer { try? FileManager.default.removeItem(atPath: path) }
            var generator = SeededGenerator(seed: 11)
            let payload = (0..<(11 << 20)).map { _ in UInt8.random(in: 0...255, using: &generator) }
            try Data(payload).write(to: URL(fileURLWithPath: path))
            try await store.putFile("seg", fromLocalFile: path)
            expectSameBytes(try await direct.get("seg"), payload)
            #expect(try await direct.pendingMultipartUploads().isEmpty)
            #expect(proxy.records.filter { $0.uri.contains("?uploads") }.count == 1, "one upload, not two")
        }
    }

    /// A multipart upload that cannot finish (every part 3 fails) is aborted: nothing stays behind.
    @Test func aFailedMultipartUploadIsAborted() async throws {
        try await withProxiedStore(
            decide: { head in
                head.method == .PUT && head.uri.contains("partNumber=3")
                    ? .respond(status: 403, headers: [], body: "<Error><Code>AccessDenied</Code></Error>") : .forward
            },
            configure: {
                $0.multipartThreshold = 5 << 20
                $0.partSize = 5 << 20
            }
        ) { store, direct, proxy in
            let path = FileManager.default.temporaryDirectory.appendingPathComponent("f-\(UUID().uuidString)").path
            defer { try? FileManager.default.removeItem(atPath: path) }
            try Data(repeating: 7, count: 12 << 20).write(to: URL(fileURLWithPath: path))
            await expectS3Error(.accessDenied) { try await store.putFile("seg", fromLocalFile: path) }
            #expect(try await direct.pendingMultipartUploads().isEmpty)
            #expect(try await direct.exists("seg") == false)
            #expect(proxy.records.contains { $0.method == "DELETE" && $0.uri.contains("uploadId=") })
        }
    }

    /// The first GET is held far longer than the timeout; the retry must succeed. The timeout leaves room for a
    /// loaded machine (the whole suite in parallel on two cores): with 1 s, a retry once timed out five times.
    @Test func slowAnswersTimeOutAndAreRetried() async throws {
        let counter = Counter()
        try await withProxiedStore(
            decide: { head in
                head.method == .GET && counter.next("get") == 1 ? .delayThenForward(.seconds(60)) : .forward
            },
            configure: { $0.requestTimeout = .seconds(5) }
        ) { store, direct, _ in
            try await direct.put("slow", bytes("eventually"))
            #expect(try await store.get("slow") == bytes("eventually"))
        }
    }

    /// A server that ignores If-None-Match (simulated: the proxy strips it) is detected before any write.
    @Test func aServerIgnoringIfNoneMatchIsRefused() async throws {
        try await withProxiedStore(decide: { _ in .forwardWithout(["If-None-Match"]) }) { store, direct, _ in
            let error = await expectS3Error(.conditionalWritesUnsupported) { try await store.put("k", [1]) }
            #expect(error?.message.contains("--s3-conditional-writes emulate") == true)
            #expect(try await direct.allBucketKeys().isEmpty, "the probe object is removed")
            // The documented fallback for a single writer still refuses to overwrite.
            var configuration = store.configuration
            configuration.conditionalWrites = .emulate
            let emulating = S3Store(configuration: configuration)
            try await emulating.put("k", [1])
            await expectLodeError(.pathExists) { try await emulating.put("k", [2]) }
            #expect(try await direct.get("k") == [1])
        }
    }
}
