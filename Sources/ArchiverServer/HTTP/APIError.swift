public import Hummingbird
import RawJSON

/// A failed request: an HTTP status and a JSON body `{"error":KIND,"message":…}` plus extra fields (e.g. a
/// conflict's `actual_version`). Messages never carry payloads or secrets.
public struct APIError: HTTPResponseError, Sendable {
    public var status: HTTPResponse.Status
    /// A stable, machine-readable kind such as `wrong-expected-version`.
    public var kind: String
    public var message: String
    /// Extra members, already JSON-encoded values keyed by name.
    public var fields: [(String, String)] = []
    public var headers: HTTPFields = [:]

    public init(
        _ status: HTTPResponse.Status, _ kind: String, _ message: String, fields: [(String, String)] = [],
        headers: HTTPFields = [:]
    ) {
        self.status = status
        self.kind = kind
        self.message = message
        self.fields = fields
        self.headers = headers
    }

    public func response(from request: Request, context: some RequestContext) throws -> Response {
        var body: [UInt8] = Array(#"{"error":"#.utf8)
        RawJSON.appendQuoted(kind, to: &body)
        body.append(contentsOf: #","message":"#.utf8)
        RawJSON.appendQuoted(message, to: &body)
        for (name, value) in fields {
            body.append(UInt8(ascii: ","))
            RawJSON.appendQuoted(name, to: &body)
            body.append(UInt8(ascii: ":"))
            body.append(contentsOf: value.utf8)
        }
        body.append(contentsOf: "}\n".utf8)
        var headers = self.headers
        headers[.contentType] = "application/json"
        return Response(status: status, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(bytes: body)))
    }
}
