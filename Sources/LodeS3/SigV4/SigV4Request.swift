/// The parts of an HTTP request that AWS Signature Version 4 covers, before encoding.
///
/// `path` and the query items are *decoded* text: the signer percent-encodes them exactly once, the way S3
/// expects (S3 neither normalizes nor double-encodes paths, unlike most AWS services).
struct SigV4Request: Sendable {
    /// The HTTP method, upper case.
    var method: String
    /// The decoded path, starting with `/`, e.g. `/bucket/a key/ሴ`.
    var path: String
    /// Decoded query items in any order (the canonical form sorts them); a key without `=` has an empty value.
    var query: [(name: String, value: String)]
    /// Header names and values in any case and order; repeated names are allowed.
    var headers: [(name: String, value: String)]
    /// The lowercase hex SHA-256 of the body (or `UNSIGNED-PAYLOAD`).
    var payloadHash: String

    init(
        method: String, path: String, query: [(name: String, value: String)] = [],
        headers: [(name: String, value: String)] = [], payloadHash: String
    ) {
        self.method = method
        self.path = path
        self.query = query
        self.headers = headers
        self.payloadHash = payloadHash
    }

    /// The value of the first header named `name` (case-insensitive).
    func header(_ name: String) -> String? {
        let lowered = name.lowercased()
        return headers.first { $0.name.lowercased() == lowered }?.value
    }

    /// Replaces every header named `name` (case-insensitive) by one with `value`.
    mutating func setHeader(_ name: String, _ value: String) {
        let lowered = name.lowercased()
        headers.removeAll { $0.name.lowercased() == lowered }
        headers.append((name, value))
    }
}
