/// The one error type of the LodeS3 module: what S3 (or the way to it) refused, in one line with the fix.
///
/// The store throws ``Lode/LodeError`` for the outcomes the ``Lode/ObjectStore`` contract names (`notFound`,
/// `pathExists`, `invalidPath`, `snapshotConflict`) and `S3Error` for everything else: wrong credentials, a
/// missing bucket, the wrong region, clock skew, an unreachable endpoint, throttling that outlasted the retries.
/// Messages never contain credentials, request signatures or object contents.
///
/// ```swift
/// do {
///     _ = try await store.list(prefix: "")
/// } catch let error as S3Error where error.code == .noSuchBucket {
///     print(error)  // bucket 'archive' does not exist at https://…: create it, or fix the bucket in --archive
/// }
/// ```
public struct S3Error: Error, Sendable, CustomStringConvertible {
    /// What went wrong. A struct over a private enum, so cases can be added without breaking callers.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        enum Base: String, Hashable, Sendable {
            case invalidConfiguration, missingCredentials, invalidCredentials, accessDenied, noSuchBucket
            case wrongRegion, clockSkew, unreachable, timeout, connectionLost, throttled, serverError
            case conditionalWritesUnsupported, invalidResponse, requestFailed, objectChanged
        }
        let base: Base
        public var description: String { base.rawValue }

        /// A bad `s3://` URL, endpoint, region or option.
        public static let invalidConfiguration = Code(base: .invalidConfiguration)
        /// No credentials in the environment, the shared files or the named profile.
        public static let missingCredentials = Code(base: .missingCredentials)
        /// S3 rejected the key ID, the secret (`SignatureDoesNotMatch`) or the session token.
        public static let invalidCredentials = Code(base: .invalidCredentials)
        /// The credentials are valid but lack a permission (IAM or bucket policy, Object Lock, KMS key).
        public static let accessDenied = Code(base: .accessDenied)
        /// The bucket does not exist at this endpoint.
        public static let noSuchBucket = Code(base: .noSuchBucket)
        /// The bucket lives in another region than the one requests are signed for.
        public static let wrongRegion = Code(base: .wrongRegion)
        /// The local clock is too far from S3's (`RequestTimeTooSkewed`).
        public static let clockSkew = Code(base: .clockSkew)
        /// The endpoint cannot be reached (connection refused, unknown host, no route).
        public static let unreachable = Code(base: .unreachable)
        /// A request timed out, on every retry.
        public static let timeout = Code(base: .timeout)
        /// The connection dropped mid-request, on every retry.
        public static let connectionLost = Code(base: .connectionLost)
        /// S3 kept answering 503 SlowDown (or 429) through every retry.
        public static let throttled = Code(base: .throttled)
        /// S3 kept answering 5xx through every retry.
        public static let serverError = Code(base: .serverError)
        /// The server ignores `If-None-Match: *`, so create-only writes cannot be guaranteed.
        public static let conditionalWritesUnsupported = Code(base: .conditionalWritesUnsupported)
        /// The server's answer is not what the S3 API specifies (malformed XML, a missing header).
        public static let invalidResponse = Code(base: .invalidResponse)
        /// Any other refusal; the message carries S3's error code.
        public static let requestFailed = Code(base: .requestFailed)
        /// An object changed while it was being read.
        public static let objectChanged = Code(base: .objectChanged)
    }

    public var code: Code
    /// One line: what failed, why, and the fix.
    public var message: String
    /// The store-relative key the error is about, when there is one.
    public var key: String?
    /// The HTTP status, when S3 answered.
    public var status: Int?
    /// S3's error code (`NoSuchBucket`, `SlowDown`, …), when it sent one.
    public var s3Code: String?
    /// S3's request ID, for a support case.
    public var requestID: String?
    public var file: String
    public var line: Int

    public init(
        _ code: Code, _ message: String, key: String? = nil, status: Int? = nil, s3Code: String? = nil,
        requestID: String? = nil, file: String = #fileID, line: Int = #line
    ) {
        self.code = code
        self.message = S3Error.oneLine(message)
        self.key = key
        self.status = status
        self.s3Code = s3Code
        self.requestID = requestID
        self.file = file
        self.line = line
    }

    public var description: String { message }

    /// Whether retrying the same request may succeed.
    var isTransient: Bool {
        [.timeout, .connectionLost, .throttled, .serverError, .unreachable].contains(code)
    }

    /// Collapses line breaks so a server's message cannot break the one-line rule.
    static func oneLine(_ text: String) -> String {
        String(text.map { $0.isNewline ? " " : $0 })
    }
}
