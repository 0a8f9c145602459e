import Foundation

/// Where an archive lives in S3 and how to talk to it.
///
/// Build one by hand, or from an `s3://bucket/prefix` URL plus the usual AWS environment and shared files with
/// ``resolve(url:options:environment:)``.
///
/// ```swift
/// var configuration = try S3Configuration(
///     url: "s3://archive/orders", endpoint: "http://127.0.0.1:9000", region: "us-east-1",
///     credentials: S3Credentials(accessKeyID: "key", secretAccessKey: "secret"))
/// configuration.addressing = .pathStyle
/// let store = S3Store(configuration: configuration)
/// ```
public struct S3Configuration: Sendable {
    /// The bucket name.
    public var bucket: String
    /// The key prefix every store key is placed under: `""` or ending with `/`.
    public var prefix: String
    /// The endpoint, e.g. `https://s3.eu-west-1.amazonaws.com` or `http://127.0.0.1:9000`.
    public var endpoint: Endpoint
    /// The region requests are signed for.
    public var region: String
    /// Path-style (`host/bucket/key`) or virtual-hosted (`bucket.host/key`) URLs.
    public var addressing: Addressing = .automatic
    public var credentials: S3Credentials
    /// Server-side encryption requested on every write.
    public var serverSideEncryption: ServerSideEncryption?
    /// Object Lock retention set on every write (the bucket must have Object Lock enabled).
    public var objectLock: ObjectLock?
    /// How create-only writes are guaranteed.
    public var conditionalWrites: ConditionalWrites = .probe
    /// Backoff for transient failures.
    public var retry = S3RetryPolicy()
    /// Files at least this large are uploaded in parts.
    public var multipartThreshold: Int = 16 << 20
    /// The size of each uploaded part (S3's minimum is 5 MiB, except for the last part).
    public var partSize: Int = 8 << 20
    /// How many parts are uploaded at once.
    public var uploadConcurrency: Int = 4
    /// The size of each ranged GET of a streaming reader; the next one is fetched while this one is consumed.
    public var readChunkSize: Int = 8 << 20
    /// A request with no body fails after this long; uploads get one more second per MiB on top.
    public var requestTimeout: Duration = .seconds(60)

    /// - Parameters:
    ///   - url: `s3://bucket` or `s3://bucket/prefix`.
    ///   - endpoint: the S3 API base URL; `nil` for AWS in `region`.
    /// - Throws: ``S3Error/Code/invalidConfiguration`` for a malformed URL or endpoint.
    public init(url: String, endpoint: String? = nil, region: String, credentials: S3Credentials) throws(S3Error) {
        let (bucket, prefix) = try Self.parse(url: url)
        self.bucket = bucket
        self.prefix = prefix
        self.region = region
        self.credentials = credentials
        self.endpoint = try Endpoint(endpoint ?? "https://s3.\(region).amazonaws.com")
    }

    /// The `s3://bucket/prefix` form of this location.
    public var url: String { "s3://\(bucket)/\(prefix)" }

    /// Splits `s3://bucket/prefix` into the bucket and a prefix that is `""` or ends with `/`.
    static func parse(url: String) throws(S3Error) -> (bucket: String, prefix: String) {
        guard url.hasPrefix("s3://") else {
            throw S3Error(.invalidConfiguration, "'\(url)' is not an S3 URL: write s3://bucket or s3://bucket/prefix")
        }
        let rest = url.dropFirst(5)
        let bucket = String(rest.prefix { $0 != "/" })
        var prefix = String(rest.dropFirst(bucket.count).drop { $0 == "/" })
        guard Self.isValidBucketName(bucket) else {
            throw S3Error(
                .invalidConfiguration,
                "'\(bucket)' in \(url) is not a valid bucket name: 3-63 characters of a-z, 0-9, '.', '-'")
        }
        if !prefix.isEmpty, !prefix.hasSuffix("/") { prefix += "/" }
        if prefix.contains("//") || prefix.split(separator: "/").contains(where: { $0 == "." || $0 == ".." }) {
            throw S3Error(.invalidConfiguration, "the prefix of \(url) must not contain '//', '.' or '..' segments")
        }
        return (bucket, prefix)
    }

    /// Bucket names S3 accepts (lenient on the historical rules: also `_` and upper case, as MinIO and Ceph do).
    static func isValidBucketName(_ name: String) -> Bool {
        (3...63).contains(name.count)
            && name.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-" || $0 == "." || $0 == "_") }
    }

    /// Whether requests put the bucket in the path (after resolving ``Addressing/automatic``).
    var usesPathStyle: Bool {
        switch addressing {
        case .pathStyle: return true
        case .virtualHosted: return false
        case .automatic:
            // Virtual-hosted names need DNS for bucket.host (AWS has it, self-hosted servers rarely do), and a
            // dotted bucket name breaks the TLS wildcard certificate.
            return !(endpoint.host.hasSuffix(".amazonaws.com") && !bucket.contains("."))
        }
    }

    /// The S3 API base URL, split.
    public struct Endpoint: Sendable, Hashable, CustomStringConvertible {
        /// `http` or `https`.
        public var scheme: String
        public var host: String
        /// `nil` for the scheme's default port.
        public var port: Int?

        /// Parses `http(s)://host[:port][/]`.
        /// - Throws: ``S3Error/Code/invalidConfiguration``.
        public init(_ text: String) throws(S3Error) {
            guard let components = URLComponents(string: text), let scheme = components.scheme?.lowercased(),
                scheme == "http" || scheme == "https", let host = components.host, !host.isEmpty
            else {
                throw S3Error(
                    .invalidConfiguration, "S3 endpoint '\(text)' is not an http:// or https:// URL with a host")
            }
            guard components.path.isEmpty || components.path == "/", components.query == nil,
                components.user == nil, components.password == nil
            else {
                throw S3Error(
                    .invalidConfiguration,
                    "S3 endpoint '\(text)' must be just scheme://host[:port], without a path, query or user")
            }
            self.scheme = scheme
            self.host = host.lowercased()
            let defaultPort = scheme == "https" ? 443 : 80
            self.port = components.port == defaultPort ? nil : components.port
        }

        public var description: String { "\(scheme)://\(hostAndPort(host))" }

        /// `host` or `host:port`: the `Host` header (and what is signed).
        func hostAndPort(_ host: String) -> String {
            let bracketed = host.contains(":") ? "[\(host)]" : host
            return port.map { "\(bracketed):\($0)" } ?? bracketed
        }
    }

    /// URL style.
    public enum Addressing: String, Sendable, CaseIterable {
        /// Virtual-hosted for AWS endpoints (`*.amazonaws.com`) and buckets without dots; path-style otherwise.
        case automatic
        /// `http://host/bucket/key` (MinIO, Ceph, moto, most self-hosted servers).
        case pathStyle
        /// `https://bucket.host/key` (AWS's default).
        case virtualHosted
    }

    /// Server-side encryption headers sent on every write.
    public enum ServerSideEncryption: Sendable, Hashable {
        /// `x-amz-server-side-encryption: AES256` (S3-managed keys).
        case aes256
        /// `x-amz-server-side-encryption: aws:kms`, with a key ID or ARN (else the account's default KMS key).
        case kms(keyID: String?)
    }

    /// Object Lock retention for compliance archives.
    public struct ObjectLock: Sendable, Hashable {
        public enum Mode: String, Sendable, CaseIterable {
            /// Users with `s3:BypassGovernanceRetention` can still delete.
            case governance = "GOVERNANCE"
            /// Nobody, not even the root account, can delete before the date.
            case compliance = "COMPLIANCE"
        }
        public var mode: Mode
        /// Retention from the time of each write.
        public var days: Int

        public init(mode: Mode, days: Int) {
            self.mode = mode
            self.days = days
        }
    }

    /// How create-only writes (`put`, `putFile`) and `compareAndSwap` are made safe.
    public enum ConditionalWrites: String, Sendable, CaseIterable {
        /// Send `If-None-Match: *` / `If-Match`, after checking once per store (with a probe object under the
        /// prefix) that the server honours them; refuse to write when it does not.
        case probe
        /// Send the conditional headers without checking (AWS S3 since 2024, recent MinIO, R2).
        case assume
        /// For servers without conditional writes: check with HEAD, then write unconditionally. Safe only with a
        /// single writer (one flusher holding the lease).
        case emulate
    }
}
