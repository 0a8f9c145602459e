public import Hummingbird

/// A failed request: an HTTP status and a JSON body `{"error":KIND,"message":…}` plus the details that some
/// kinds carry (a conflict's `actual_version` and `stream`). Messages never carry payloads or secrets.
public struct APIError: HTTPResponseError, Sendable {
    public var status: HTTPResponse.Status
    /// A stable, machine-readable kind such as `wrong-expected-version`.
    public var kind: String
    public var message: String
    /// Extra members of the body.
    public var details: Details
    public var headers: HTTPFields

    /// The optional members of an error body; nil members are left out.
    public struct Details: Sendable, Hashable {
        /// 409 `wrong-expected-version`: the stream's version.
        public var actualVersion: Int64?
        public var stream: String?
        /// 404 `stream-not-found`: 0.
        public var version: Int64?

        public init(actualVersion: Int64? = nil, stream: String? = nil, version: Int64? = nil) {
            self.actualVersion = actualVersion
            self.stream = stream
            self.version = version
        }
    }

    public init(
        _ status: HTTPResponse.Status, _ kind: String, _ message: String, details: Details = Details(),
        headers: HTTPFields = [:]
    ) {
        self.status = status
        self.kind = kind
        self.message = message
        self.details = details
        self.headers = headers
    }

    public func response(from request: Request, context: some RequestContext) throws -> Response {
        let body = ErrorBody(
            error: kind, message: message, actualVersion: details.actualVersion, stream: details.stream,
            version: details.version)
        return try JSONResponse.make(status, body, headers: headers)
    }
}

/// The JSON form of ``APIError``.
struct ErrorBody: Codable, Sendable {
    var error: String
    var message: String
    var actualVersion: Int64?
    var stream: String?
    var version: Int64?

    enum CodingKeys: String, CodingKey {
        case error, message, stream, version
        case actualVersion = "actual_version"
    }
}
