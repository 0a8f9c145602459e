import Foundation
import Lode
import NIOCore
import NIOHTTP1
import Testing

@testable import LodeS3

/// S3 specifics against the real S3 API server (moto); the shared ObjectStore contract runs in LodeTests.
@Suite(.enabled(if: S3TestServer.isAvailable, "needs ARCHIVER_TEST_S3_ENDPOINT: run via scripts/with-services.sh"))
struct S3StoreTests {
    @Test func multipartUploadStreamsPartsAndCompletesCreateOnly() async throws {
        try await withS3Store(configure: {
            $0.multipartThreshold = 6 << 20
            $0.partSize = 5 << 20
            $0.uploadConcurrency = 3
        }) { store in
            let dir = FileManager.default.temporaryDirectory.appendingPathComponent("mp-\(UUID().uuidString)").path
            try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(atPath: dir) }
            var generator = SeededGenerator(seed: 3)
            let payload = (0..<(17 << 20) + 12_345).map { _ in UInt8.random(in: 0...255, using: &generator) }
            try Data(payload).write(to: URL(fileURLWithPath: dir + "/segment"))

            try await store.putFile("seg/data.zst", fromLocalFile: dir + "/segment")
            expectSameBytes(try await store.get("seg/data.zst"), payload)
            // A multipart ETag (md5-of-md5s "-4"), so it really went in 4 parts.
            let head = try #require(try await store.headObject(store.configuration.prefix + "seg/data.zst"))
            #expect(head.header("ETag")?.hasSuffix("-4\"") == true)
            // Create-only: a second upload is refused and leaves the first object and no open upload.
            await expectLodeError(.pathExists) {
                try await store.putFile("seg/data.zst", fromLocalFile: dir + "/segment")
            }
            #expect(try await store.pendingMultipartUploads().isEmpty)
            // Ranged reads inside and across part boundaries.
            let cross = try await store.getRange("seg/data.zst", offset: (5 << 20) - 10, length: 20)
            #expect(cross == Array(payload[(5 << 20) - 10..<(5 << 20) + 10]))
        }
    }

    /// Completion is conditional too: another writer creates the key while our parts are uploaded; completing
    /// fails with pathExists, their object stays, and our upload is aborted. (Racing completions themselves
    /// cannot be tested against moto: it checks If-None-Match and completes in two steps without a lock, so two
    /// concurrent completions can both win there; AWS S3 decides atomically.)
    @Test func completionIsCreateOnlyAndAbortsOnConflict() async throws {
        let gate = Gate()
        try await withS3Store { direct in
            try await FaultProxy.with(
                upstream: direct.configuration.endpoint.description,
                decide: { head in
                    head.method == .POST && head.uri.contains("uploadId=")
                        ? .forwardAfter { await gate.wait() } : .forward
                }
            ) { proxy in
                var configuration = direct.configuration
                configuration.endpoint = try S3Configuration.Endpoint(proxy.endpoint)
                configuration.multipartThreshold = 5 << 20
                configuration.partSize = 5 << 20
                let store = S3Store(configuration: configuration)
                let path = FileManager.default.temporaryDirectory.appendingPathComponent("f-\(UUID().uuidString)").path
                defer { try? FileManager.default.removeItem(atPath: path) }
                try Data(repeating: 1, count: 6 << 20).write(to: URL(fileURLWithPath: path))

                let upload = Task { try await store.putFile("race", fromLocalFile: path) }
                // Wait until the completion request is held at the proxy, then let another writer win.
                while !proxy.records.contains(where: { $0.method == "POST" && $0.uri.contains("uploadId=") }) {
                    try await Task.sleep(for: .milliseconds(10))
                }
                try await direct.put("race", bytes("the other writer"))
                gate.open()
                await expectLodeError(.pathExists) { try await upload.value }
                #expect(try await direct.get("race") == bytes("the other writer"))
                #expect(try await direct.pendingMultipartUploads().isEmpty)
            }
        }
    }

    /// Listing after a key asks the server to skip what sorts before it (`start-after`), so finding the
    /// snapshots after a dataset's pointer does not list the whole dataset.
    @Test func listingAfterAKeyIsSkippedByTheServer() async throws {
        try await withS3Store { direct in
            for key in ["d/s/01/m", "d/s/02/m", "d/s/03/m", "d/s/03/x", "d/s/04/m", "e/1"] {
                try await direct.put(key, bytes(key))
            }
            try await FaultProxy.with(upstream: direct.configuration.endpoint.description, decide: { _ in .forward }) {
                proxy in
                var configuration = direct.configuration
                configuration.endpoint = try S3Configuration.Endpoint(proxy.endpoint)
                let store = S3Store(configuration: configuration)
                let after = try await store.list(prefix: "d/s/", startAfter: "d/s/02/m")
                #expect(after.map(\.key) == ["d/s/03/m", "d/s/03/x", "d/s/04/m"])
                #expect(try await store.list(prefix: "d/s/", startAfter: "").count == 5)
                let listings = proxy.records.filter { $0.method == "GET" && $0.uri.contains("list-type=2") }
                #expect(listings.contains { $0.uri.contains("start-after=") }, "\(listings.map(\.uri))")
            }
        }
    }

    @Test func hostileKeysRoundTripThroughPutListAndGet() async throws {
        try await withS3Store { store in
            let keys = [
                "a b/c+d", "pct%20/x%", "tilde~/eq=&amp", "uni/é/ሴ/😀", "q?x#y", "quote'\"<>", "plus+/+",
                "long/" + String(repeating: "k", count: 900), "x/y;z,a:b@c$d!e*f(g)h", "tab\tkey",
            ]
            for key in keys { try await store.put(key, bytes("v:" + key)) }
            let listed = try await store.list(prefix: "").map(\.key)
            #expect(listed == keys.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) })
            for key in keys {
                #expect(try await store.get(key) == bytes("v:" + key), "\(key)")
                #expect(try await store.head(key)?.size == Int64(("v:" + key).utf8.count))
            }
            #expect(try await store.list(prefix: "uni/é/").map(\.key) == ["uni/é/ሴ/😀"])
            // Keys outside the prefix are invisible.
            #expect(try await store.allBucketKeys().allSatisfy { $0.hasPrefix("archive/") })
        }
    }

    @Test func listingPaginatesAndDelimits() async throws {
        try await withS3Store { store in
            let keys = (0..<1_234).map { "p/\($0 % 3)/k\(String(format: "%05d", $0))" }
            try await withThrowingTaskGroup(of: Void.self) { group in
                for chunk in stride(from: 0, to: keys.count, by: 100) {
                    group.addTask {
                        for key in keys[chunk..<min(chunk + 100, keys.count)] { try await store.put(key, [1]) }
                    }
                }
                try await group.waitForAll()
            }
            let listed = try await store.list(prefix: "p/")
            #expect(listed.count == 1_234)
            #expect(listed.map(\.key) == keys.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) })
            let directory = try await store.listDirectory(prefix: "p/")
            #expect(directory.objects.isEmpty)
            #expect(directory.directories == ["p/0/", "p/1/", "p/2/"])
        }
    }

    @Test func streamingReaderUsesRangedChunks() async throws {
        try await withS3Store(configure: { $0.readChunkSize = 1000 }) { store in
            let payload = (0..<25_001).map { UInt8(truncatingIfNeeded: $0 &* 13) }
            try await store.put("obj", payload)
            let reader = try await store.openReader("obj")
            #expect(reader.size == 25_001)
            var collected: [UInt8] = []
            while true {
                let chunk = try await reader.read(upTo: 777)
                if chunk.isEmpty { break }
                collected += chunk
            }
            expectSameBytes(collected, payload)
            // Empty objects.
            try await store.put("empty", [])
            let empty = try await store.openReader("empty")
            #expect(empty.size == 0)
            #expect(try await empty.read(upTo: 10) == [])
            #expect(try await store.getRange("empty", offset: 0, length: 5) == [])
        }
    }

    @Test func aReaderNoticesTheObjectChanging() async throws {
        try await withS3Store(configure: { $0.readChunkSize = 100 }) { store in
            try await store.put("obj", [UInt8](repeating: 1, count: 1000))
            let reader = try await store.openReader("obj")
            _ = try await reader.read(upTo: 100)
            try await store.overwrite("obj", [UInt8](repeating: 2, count: 1000))
            // The prefetched chunk may predate the change; within a few chunks the change is noticed.
            await expectS3Error(.objectChanged) {
                for _ in 0..<10 { _ = try await reader.read(upTo: 100) }
            }
        }
    }

    @Test func conditionalWritesAreProbedOnce() async throws {
        try await withS3Store { store in
            let mode = try await store.conditionalWriteMode()
            #expect(mode == .assume)
            // The probe object was removed, and reserved names are never listed.
            #expect(try await store.allBucketKeys().isEmpty)
            await expectLodeError(.invalidPath) { try await store.put("x/.lode-put-1", [1]) }
        }
    }

    @Test func encryptionAndObjectLockHeadersAreSent() async throws {
        try await withS3Store(
            configure: {
                $0.serverSideEncryption = .aes256
                $0.objectLock = .init(mode: .governance, days: 2)
            }, createBucketHeaders: [("x-amz-bucket-object-lock-enabled", "true")]
        ) { store in
            try await store.put("locked", bytes("keep me"))
            let head = try #require(try await store.headObject(store.configuration.prefix + "locked"))
            #expect(head.header("x-amz-server-side-encryption") == "AES256")
            #expect(head.header("x-amz-object-lock-mode") == "GOVERNANCE")
            let until = try #require(head.header("x-amz-object-lock-retain-until-date"))
            #expect(until.hasPrefix(S3Store.iso8601(Date().addingTimeInterval(2 * 86_400)).prefix(10)))
            // Object Lock in governance mode keeps the object (moto ignores bypass without the header).
            try await store.compareAndSwap("latest", expected: "", replacement: "1")
            try await store.compareAndSwap("latest", expected: "1", replacement: "2")
            #expect(try await store.get("latest") == bytes("2"))
        }
    }

    @Test func aMissingBucketIsOneClearError() async throws {
        guard let endpoint = S3TestServer.endpoint() else { return }
        let store = S3Store(configuration: try S3TestServer.configuration(endpoint: endpoint))
        let error = await expectS3Error(.noSuchBucket) { try await store.list(prefix: "") }
        #expect(error?.message.contains(store.configuration.bucket) == true)
        await expectS3Error(.noSuchBucket) { try await store.checkAccess() }
        await expectS3Error(.noSuchBucket) { try await store.put("k", [1]) }
        await expectS3Error(.noSuchBucket) { try await store.get("k") }
    }
}
