import Foundation
public import Lode
import NIOCore
import NIOHTTP1
import Synchronization

/// An ``Lode/ObjectStore`` in an S3-compatible bucket (AWS S3, MinIO, Ceph, Cloudflare R2, moto), under a prefix.
///
/// - `put` is `PutObject` with `If-None-Match: *`, so two writers racing for a key have exactly one winner and
///   the first object is kept (``Lode/LodeError/Code/pathExists`` for the other).
/// - `putFile` streams the file: small files in one `PutObject`, large ones as a multipart upload whose parts are
///   read from disk and sent a few at a time; completion is conditional too, and a failed upload is aborted so no
///   parts are left behind.
/// - `getRange` is a ranged `GET`; `openReader` streams with ranged `GET`s, fetching the next chunk while the
///   current one is consumed.
/// - `compareAndSwap` reads the object and its ETag, compares the bytes, and writes with `If-Match: <etag>`
///   (`If-None-Match: *` for a missing key), so a concurrent swap makes exactly one of them fail with
///   ``Lode/LodeError/Code/snapshotConflict``.
/// - Transient failures are retried with exponential backoff and jitter; a conditional write whose outcome is
///   unknown (a timeout, a dropped connection, a 5xx) is never re-sent blindly: every write carries a random
///   `x-amz-meta-lode-put-id`, and the store first looks whether the object holds it.
///
/// Whether the server honours `If-None-Match` is checked once per store before the first write (see
/// ``S3Configuration/ConditionalWrites``).
///
/// ```swift
/// let configuration = try S3Configuration.resolve(url: "s3://archive/orders")
/// let store = S3Store(configuration: configuration)
/// try await store.put("datasets/orders/latest", Array("1".utf8))
/// ```
public struct S3Store: ObjectStore {
    /// Where the store lives and how it talks to S3.
    public var configuration: S3Configuration { client.configuration }
    let client: S3Client
    let probe: ConditionalWriteProbe

    /// A store over `configuration`. No request is made until the first operation (or ``checkAccess()``).
    public init(configuration: S3Configuration) {
        self.init(client: S3Client(configuration: configuration))
    }

    init(client: S3Client) {
        self.client = client
        self.probe = ConditionalWriteProbe()
    }

    /// Lists one key under the prefix, so wrong credentials, a missing bucket, the wrong region, clock skew or
    /// an unreachable endpoint surface at once as one clear ``S3Error``.
    ///
    /// ```swift
    /// try await store.checkAccess()
    /// ```
    public func checkAccess() async throws {
        _ = try await listPage(prefix: configuration.prefix, delimiter: nil, token: nil, maxKeys: 1)
    }

    // MARK: - ObjectStore

    public func get(_ key: String) async throws -> [UInt8] {
        let full = try bucketKey(key)
        let response = try await client.send(S3Request(.GET, key: full), limit: Int.max)
        switch response.status {
        case 200: return response.body
        case 404: throw try notFoundOrBucketError(response, key: key, full: full)
        default: throw client.failure(response, key: full, action: "GET")
        }
    }

    public func getRange(_ key: String, offset: Int64, length: Int64) async throws -> [UInt8] {
        let full = try bucketKey(key)
        if offset < 0 || length < 0 {
            throw LodeError(
                .invalidPath, "invalid key '\(key)': range offset \(offset) and length \(length) must not be negative",
                key: key)
        }
        if offset > Int64.max - length {
            throw LodeError(
                .invalidPath, "invalid key '\(key)': range offset \(offset) + length \(length) overflows", key: key)
        }
        if length == 0 {
            guard try await head(key) != nil else { throw Self.notFound(key) }
            return []
        }
        let range = "bytes=\(offset)-\(offset + length - 1)"
        let response = try await client.send(
            S3Request(.GET, key: full, headers: [("Range", range)]),
            limit: max(Int(clamping: length), 1 << 20))
        switch response.status {
        case 206: return response.body
        case 200:
            // The server ignored Range (allowed by HTTP): cut the answer to the range ourselves.
            let start = Int(clamping: min(offset, Int64(response.body.count)))
            let end = Int(clamping: min(offset + length, Int64(response.body.count)))
            return Array(response.body[start..<end])
        case 416: return []  // the object exists, the range starts at or past its end
        case 404: throw try notFoundOrBucketError(response, key: key, full: full)
        default: throw client.failure(response, key: full, action: "GET")
        }
    }

    public func openReader(_ key: String) async throws -> any ObjectReader {
        try await S3ObjectReader.open(store: self, key: key, bucketKey: try bucketKey(key))
    }

    public func head(_ key: String) async throws -> ObjectInfo? {
        let full = try bucketKey(key)
        guard let response = try await headObject(full) else { return nil }
        guard let size = response.header("Content-Length").flatMap(Int64.init) else {
            throw S3Error(.invalidResponse, "HEAD \(client.location(full)) answered without a Content-Length", key: key)
        }
        return ObjectInfo(key: key, size: size)
    }

    public func list(prefix: String) async throws -> [ObjectInfo] {
        try await list(prefix: prefix, startAfter: "")
    }

    /// ListObjectsV2 with `start-after`: the server skips the keys before it, so finding the snapshots after a
    /// pointer costs the pages that hold them, not the whole dataset.
    public func list(prefix: String, startAfter: String) async throws -> [ObjectInfo] {
        try ObjectKey.validatePrefix(prefix)
        let base = configuration.prefix
        var found: [ObjectInfo] = []
        var token: String?
        let after = startAfter.isEmpty ? nil : base + startAfter
        repeat {
            let page = try await listPage(
                prefix: base + prefix, delimiter: nil, token: token, maxKeys: 1000, startAfter: after)
            for object in page.objects where object.key.hasPrefix(base) {
                let key = String(object.key.dropFirst(base.count))
                if Self.isReservedName(key) { continue }
                // A server that ignores start-after still gives the right answer.
                if let after, !ObjectKey.byteOrder(after, object.key) { continue }
                found.append(ObjectInfo(key: key, size: object.size))
            }
            token = page.isTruncated ? page.nextContinuationToken : nil
        } while token != nil
        // S3 lists in UTF-8 byte order already; sorting again costs little and holds for any server.
        found.sort { $0.key.utf8.lexicographicallyPrecedes($1.key.utf8) }
        return found
    }

    /// The keys directly under `prefix` and the next-level "directories" (`delimiter` `/`), store-relative.
    func listDirectory(prefix: String) async throws -> (objects: [ObjectInfo], directories: [String]) {
        try ObjectKey.validatePrefix(prefix)
        let base = configuration.prefix
        var objects: [ObjectInfo] = []
        var directories: [String] = []
        var token: String?
        repeat {
            let page = try await listPage(prefix: base + prefix, delimiter: "/", token: token, maxKeys: 1000)
            for object in page.objects where object.key.hasPrefix(base) && !Self.isReservedName(object.key) {
                objects.append(ObjectInfo(key: String(object.key.dropFirst(base.count)), size: object.size))
            }
            directories += page.commonPrefixes.filter { $0.hasPrefix(base) }.map { String($0.dropFirst(base.count)) }
            token = page.isTruncated ? page.nextContinuationToken : nil
        } while token != nil
        return (objects, directories)
    }

    public func delete(_ key: String) async throws {
        let full = try bucketKey(key)
        let response = try await client.send(S3Request(.DELETE, key: full))
        switch response.status {
        case 200, 204: return
        case 404:
            // S3 answers 204 for a missing key; some servers 404 NoSuchKey. A missing bucket is an error.
            if S3Responses.ErrorBody.parse(response.body)?.code == "NoSuchBucket" {
                throw client.failure(response, key: full, action: "DELETE")
            }
        default: throw client.failure(response, key: full, action: "DELETE")
        }
    }

    // MARK: - Internals

    /// Validates a store key and returns the bucket key (prefix applied).
    func bucketKey(_ key: String) throws(LodeError) -> String {
        try ObjectKey.validate(key)
        return configuration.prefix + key
    }

    /// The names a file store uses for in-flight writes (`.lode-put-*`, `.lode-cas-*`): never listed, never
    /// written (S3 writes are atomic and need none; the probe object uses one so that it is never listed).
    static func isReservedName(_ key: String) -> Bool {
        let name = key.split(separator: "/", omittingEmptySubsequences: false).last ?? ""
        return name.hasPrefix(".lode-put-") || name.hasPrefix(".lode-cas-")
    }

    static func notFound(_ key: String) -> LodeError {
        LodeError(.notFound, "object '\(key)' does not exist", key: key)
    }

    /// A 404 is a missing key, unless the bucket itself is missing.
    func notFoundOrBucketError(_ response: S3Response, key: String, full: String) throws -> LodeError {
        if let body = S3Responses.ErrorBody.parse(response.body), body.code == "NoSuchBucket" {
            throw client.failure(response, key: full, action: "GET")
        }
        return Self.notFound(key)
    }

    /// HEAD of a bucket key: the answer for 200, `nil` for 404. HEAD answers have no body, so a refusal is
    /// explained by a ListObjectsV2 of the prefix, whose answer has one.
    func headObject(_ full: String) async throws -> S3Response? {
        let response = try await client.send(S3Request(.HEAD, key: full))
        switch response.status {
        case 200: return response
        case 404: return nil
        default:
            try await checkAccess()
            throw client.failure(response, key: full, action: "HEAD")
        }
    }

    /// One ListObjectsV2 page, keys URL-encoded on the wire (`encoding-type=url`) so any key survives XML.
    func listPage(
        prefix: String, delimiter: String?, token: String?, maxKeys: Int, startAfter: String? = nil
    ) async throws
        -> S3Responses.ListPage
    {
        var query: [(name: String, value: String)] = [
            ("list-type", "2"), ("encoding-type", "url"), ("max-keys", String(maxKeys)),
        ]
        if !prefix.isEmpty { query.append(("prefix", prefix)) }
        if let delimiter { query.append(("delimiter", delimiter)) }
        if let token { query.append(("continuation-token", token)) }
        if let startAfter, token == nil { query.append(("start-after", startAfter)) }
        let response = try await client.send(S3Request(.GET, key: nil, query: query))
        guard response.status == 200 else { throw client.failure(response, key: prefix, action: "LIST") }
        return try S3Responses.ListPage.parse(response.body)
    }
}
