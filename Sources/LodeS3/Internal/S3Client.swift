import AsyncHTTPClient
import Crypto
import Foundation
import NIOCore
import NIOHTTP1

/// One S3 API request before signing: the key is the full bucket key (the store prefix already applied).
struct S3Request: Sendable {
    var method: HTTPMethod
    /// `nil` for bucket-level requests (ListObjectsV2, ListMultipartUploads).
    var key: String?
    var query: [(name: String, value: String)] = []
    var headers: [(name: String, value: String)] = []
    var body: ByteBuffer?
    /// Hex SHA-256 of the body (computed once, also for retries).
    var payloadHash: String

    init(
        _ method: HTTPMethod, key: String?, query: [(name: String, value: String)] = [],
        headers: [(name: String, value: String)] = [], body: ByteBuffer? = nil
    ) {
        self.method = method
        self.key = key
        self.query = query
        self.headers = headers
        self.body = body
        self.payloadHash = S3Client.sha256Hex(body)
    }
}

/// An S3 answer with its body collected.
struct S3Response: Sendable {
    var status: Int
    var headers: HTTPHeaders
    var body: [UInt8]

    func header(_ name: String) -> String? { headers.first(name: name) }
}

/// Signs and sends S3 requests over async-http-client, with retries for transient failures.
///
/// It uses one process-wide `HTTPClient` (like `HTTPClient.shared`, it lives as long as the process and needs no
/// shutdown) configured for S3: no redirects (a redirect would carry a signature for the wrong host), no
/// transparent decompression (objects are stored as they are given), a 10 s connect timeout, and no hidden
/// connection retries.
final class S3Client: Sendable {
    let configuration: S3Configuration
    let signer: SigV4Signer
    let http: HTTPClient

    /// The one client of the process; connections are pooled across stores.
    static let sharedHTTPClient: HTTPClient = {
        var configuration = HTTPClient.Configuration(
            redirectConfiguration: .disallow, timeout: .init(connect: .seconds(10), read: .seconds(120)),
            decompression: .disabled)
        configuration.connectionPool = .init(idleTimeout: .seconds(60))
        // Fail a refused connection at once; ``send(_:limit:)`` retries with its own backoff and budget.
        configuration.connectionPool.retryConnectionEstablishment = false
        configuration.httpVersion = .http1Only
        return HTTPClient(eventLoopGroup: HTTPClient.defaultEventLoopGroup, configuration: configuration)
    }()

    init(configuration: S3Configuration, http: HTTPClient = S3Client.sharedHTTPClient) {
        self.configuration = configuration
        self.signer = SigV4Signer(credentials: configuration.credentials, region: configuration.region, service: "s3")
        self.http = http
    }

    // MARK: - Addressing

    /// The `Host` header, the decoded path (what is signed) and the URL (what is sent) of `request`.
    func address(of request: S3Request) -> (host: String, path: String, url: String) {
        let endpoint = configuration.endpoint
        let host: String
        var path: String
        if configuration.usesPathStyle {
            host = endpoint.hostAndPort(endpoint.host)
            path = "/" + configuration.bucket
            if let key = request.key { path += "/" + key }
        } else {
            host = endpoint.hostAndPort(configuration.bucket + "." + endpoint.host)
            path = "/" + (request.key ?? "")
        }
        var url = endpoint.scheme + "://" + host + SigV4Encoding.encode(path, keepSlash: true)
        if !request.query.isEmpty {
            url +=
                "?"
                + request.query
                .map {
                    SigV4Encoding.encode($0.name, keepSlash: false) + "="
                        + SigV4Encoding.encode($0.value, keepSlash: false)
                }
                .joined(separator: "&")
        }
        return (host, path, url)
    }

    /// The URL and the signed request (headers with `Host`, `x-amz-content-sha256`, `x-amz-date`,
    /// `Authorization`) that ``sendOnce(_:limit:)`` sends for `request` at `date`.
    func sign(_ request: S3Request, at date: Date) -> (url: String, signed: SigV4Request) {
        let (host, path, url) = address(of: request)
        var unsigned = SigV4Request(
            method: request.method.rawValue, path: path, query: request.query, headers: request.headers,
            payloadHash: request.payloadHash)
        unsigned.setHeader("Host", host)
        unsigned.setHeader("x-amz-content-sha256", request.payloadHash)
        return (url, signer.sign(unsigned, at: date).request)
    }

    // MARK: - Sending

    /// Sends `request` once, collecting at most `limit` body bytes.
    /// - Throws: ``S3Error`` for transport failures (unreachable, timeout, connection lost), `CancellationError`.
    func sendOnce(_ request: S3Request, limit: Int = 64 << 20) async throws -> S3Response {
        let (url, signed) = sign(request, at: Date())
        var http = HTTPClientRequest(url: url)
        http.method = request.method
        for (name, value) in signed.headers { http.headers.add(name: name, value: value) }
        http.headers.add(name: "User-Agent", value: "lode-archiver")
        if let body = request.body {
            http.body = .bytes(body)
        } else if request.method == .PUT || request.method == .POST {
            http.headers.add(name: "Content-Length", value: "0")
        }
        let megabytes = Int64((request.body?.readableBytes ?? 0) >> 20)
        let timeout = TimeAmount.nanoseconds(
            Int64(configuration.requestTimeout.components.seconds) * 1_000_000_000 + megabytes * 1_000_000_000)
        do {
            let response = try await self.http.execute(http, timeout: timeout)
            var body: [UInt8] = []
            if let length = response.headers.first(name: "Content-Length").flatMap(Int.init), length <= limit {
                body.reserveCapacity(length)
            }
            for try await chunk in response.body {
                guard body.count + chunk.readableBytes <= limit else {
                    throw S3Error(.invalidResponse, "the S3 answer to \(request.method) is larger than \(limit) bytes")
                }
                body.append(contentsOf: chunk.readableBytesView)
            }
            return S3Response(status: Int(response.status.code), headers: response.headers, body: body)
        } catch let error as S3Error {
            throw error
        } catch {
            throw transportError(error, request: request)
        }
    }

    /// Sends `request`, retrying transient failures (transport errors, 5xx, 429, `RequestTimeout`) with backoff.
    /// The final answer is returned whatever its status; the caller maps errors with ``failure(_:key:action:)``.
    ///
    /// Only for requests that are safe to repeat: reads, deletes, unconditional part uploads. Conditional writes
    /// use ``S3Store`` logic that checks before re-sending.
    func send(_ request: S3Request, limit: Int = 64 << 20) async throws -> S3Response {
        var attempt = 1
        while true {
            do {
                let response = try await sendOnce(request, limit: limit)
                if Self.isTransient(response), attempt < configuration.retry.maxAttempts {
                    try await backoff(after: attempt)
                    attempt += 1
                    continue
                }
                return response
            } catch let error as S3Error where error.isTransient && attempt < configuration.retry.maxAttempts {
                try await backoff(after: attempt)
                attempt += 1
            }
        }
    }

    /// Sleeps the policy's jittered delay after `attempt`.
    func backoff(after attempt: Int) async throws {
        try await Task.sleep(for: configuration.retry.delay(afterAttempt: attempt))
    }

    /// Whether an answer is worth retrying as it is.
    static func isTransient(_ response: S3Response) -> Bool {
        switch response.status {
        case 500, 502, 503, 504, 429: return true
        case 400: return S3Responses.ErrorBody.parse(response.body)?.code == "RequestTimeout"
        default: return false
        }
    }

    // MARK: - Hashes

    static func sha256Hex(_ body: ByteBuffer?) -> String {
        guard let body else { return SigV4Signer.hex(SHA256.hash(data: [UInt8]())) }
        return body.withUnsafeReadableBytes { SigV4Signer.hex(SHA256.hash(data: $0)) }
    }

    static func md5Base64(_ body: ByteBuffer) -> String {
        body.withUnsafeReadableBytes { Data(Insecure.MD5.hash(data: $0)).base64EncodedString() }
    }

    static func md5Hex(_ body: ByteBuffer) -> String {
        body.withUnsafeReadableBytes { SigV4Signer.hex(Insecure.MD5.hash(data: $0)) }
    }
}
