import Lode
import NIOHTTP1

/// A streaming reader over one S3 object: ranged GETs of ``S3Configuration/readChunkSize`` bytes, the next one
/// fetched while the current one is consumed (at most two chunks in memory). Every chunk after the first is
/// conditional on the first one's ETag, so an object replaced mid-read is an error, never a mix of two objects.
actor S3ObjectReader: ObjectReader {
    nonisolated let size: Int64
    private let store: S3Store
    private let key: String
    private let bucketKey: String
    private let etag: String?
    private var buffer: [UInt8]
    private var position = 0
    /// The object offset of the first byte not yet in `buffer`.
    private var nextOffset: Int64
    private var prefetch: Task<[UInt8], any Error>?

    private init(store: S3Store, key: String, bucketKey: String, size: Int64, etag: String?, first: [UInt8]) {
        self.store = store
        self.key = key
        self.bucketKey = bucketKey
        self.size = size
        self.etag = etag
        self.buffer = first
        self.nextOffset = Int64(first.count)
    }

    deinit { prefetch?.cancel() }

    /// Fetches the first chunk (and so the size), or throws ``Lode/LodeError/Code/notFound``.
    static func open(store: S3Store, key: String, bucketKey: String) async throws -> S3ObjectReader {
        let client = store.client
        let chunk = max(1, store.configuration.readChunkSize)
        let response = try await client.send(
            S3Request(.GET, key: bucketKey, headers: [("Range", "bytes=0-\(chunk - 1)")]), limit: max(chunk, 1 << 20))
        let reader: S3ObjectReader
        switch response.status {
        case 206:
            guard let total = response.header("Content-Range").flatMap(Self.totalSize) else {
                throw S3Error(.invalidResponse, "a ranged GET of \(client.location(bucketKey)) had no Content-Range")
            }
            reader = S3ObjectReader(
                store: store, key: key, bucketKey: bucketKey, size: total, etag: response.header("ETag"),
                first: response.body)
        case 200:
            reader = S3ObjectReader(
                store: store, key: key, bucketKey: bucketKey, size: Int64(response.body.count),
                etag: response.header("ETag"), first: response.body)
        case 416:
            // An empty object has no byte 0.
            guard try await store.head(key) != nil else { throw S3Store.notFound(key) }
            reader = S3ObjectReader(store: store, key: key, bucketKey: bucketKey, size: 0, etag: nil, first: [])
        case 404:
            throw try store.notFoundOrBucketError(response, key: key, full: bucketKey)
        default:
            throw client.failure(response, key: bucketKey, action: "GET")
        }
        await reader.startPrefetch()
        return reader
    }

    func read(upTo maxCount: Int) async throws -> [UInt8] {
        if position == buffer.count {
            guard nextOffset < size else { return [] }
            let task = prefetch ?? fetchTask()
            prefetch = nil
            buffer = try await task.value
            position = 0
            guard !buffer.isEmpty else {
                throw S3Error(
                    .objectChanged, "\(store.client.location(bucketKey)) shrank while it was being read", key: key)
            }
            nextOffset += Int64(buffer.count)
            startPrefetch()
        }
        let count = min(max(0, maxCount), buffer.count - position)
        defer { position += count }
        return Array(buffer[position..<position + count])
    }

    private func startPrefetch() {
        if prefetch == nil, nextOffset < size { prefetch = fetchTask() }
    }

    /// The next chunk after `nextOffset`, conditional on the ETag seen at open.
    private func fetchTask() -> Task<[UInt8], any Error> {
        let (store, full, etag, key) = (self.store, self.bucketKey, self.etag, self.key)
        let start = nextOffset
        let end = min(size, start + Int64(max(1, store.configuration.readChunkSize)))
        return Task {
            var headers: [(name: String, value: String)] = [("Range", "bytes=\(start)-\(end - 1)")]
            if let etag { headers.append(("If-Match", etag)) }
            let response = try await store.client.send(
                S3Request(.GET, key: full, headers: headers), limit: max(Int(end - start), 1 << 20))
            switch response.status {
            case 206: return response.body
            case 200 where Int64(response.body.count) >= end: return Array(response.body[Int(start)..<Int(end)])
            case 412, 404:
                throw S3Error(
                    .objectChanged,
                    "\(store.client.location(full)) was replaced or deleted while it was being read: read it again",
                    key: key)
            default: throw store.client.failure(response, key: full, action: "GET")
            }
        }
    }

    /// The total of `bytes 0-99/1234`.
    static func totalSize(_ contentRange: String) -> Int64? {
        guard let slash = contentRange.lastIndex(of: "/") else { return nil }
        return Int64(contentRange[contentRange.index(after: slash)...])
    }
}
