import NIOCore
import NIOHTTP1

/// Bucket administration for set-up and tests in this package (the archive itself never creates or deletes
/// buckets: that is the job of infrastructure tooling with broader permissions).
extension S3Store {
    /// `CreateBucket` (with path-style addressing; AWS outside us-east-1 also needs a location constraint).
    package func createBucket(headers: [(name: String, value: String)] = []) async throws {
        let response = try await client.send(S3Request(.PUT, key: nil, headers: headers))
        guard response.status == 200 else { throw client.failure(response, key: nil, action: "CreateBucket") }
    }

    /// Every key of the bucket, inside the prefix or not.
    package func allBucketKeys() async throws -> [String] {
        var keys: [String] = []
        var token: String?
        repeat {
            let page = try await listPage(prefix: "", delimiter: nil, token: token, maxKeys: 1000)
            keys += page.objects.map(\.key)
            token = page.isTruncated ? page.nextContinuationToken : nil
        } while token != nil
        return keys
    }

    /// Aborts open uploads, deletes every object, then the bucket. Best effort: errors are ignored.
    package func deleteBucketAndContents() async {
        for upload in (try? await pendingMultipartUploads()) ?? [] {
            _ = try? await client.send(
                S3Request(.DELETE, key: configuration.prefix + upload.key, query: [("uploadId", upload.uploadID)]))
        }
        for key in (try? await allBucketKeys()) ?? [] {
            _ = try? await client.send(S3Request(.DELETE, key: key))
        }
        _ = try? await client.send(S3Request(.DELETE, key: nil))
    }

    /// Writes `bytes` at a store key without any condition: for tests that tamper with an archive.
    package func overwrite(_ key: String, _ bytes: [UInt8]) async throws {
        let full = try bucketKey(key)
        let response = try await client.send(
            S3Request(
                .PUT, key: full, headers: [("Content-Type", "application/octet-stream")],
                body: ByteBuffer(bytes: bytes)))
        guard response.status == 200 else { throw client.failure(response, key: full, action: "PUT") }
    }
}
