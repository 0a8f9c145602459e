import Basics
import Crypto
import Foundation
import Lode

/// AWS Signature Version 4, header form, as S3 verifies it.
///
/// The four steps of the specification, each visible for the published test vectors: the canonical request,
/// the string to sign, the signing key derived from the secret, and the `Authorization` header. S3 specifics:
/// the canonical URI is the path percent-encoded *once* and *never normalized* (`a//b/./c` stays as it is, as
/// S3 keys may contain such segments), and a session token is signed as `x-amz-security-token`.
///
/// The secret never leaves this type except as HMAC input.
///
/// ```swift
/// let signer = SigV4Signer(credentials: credentials, region: "eu-west-1", service: "s3")
/// let signed = signer.sign(request, at: Date())
/// ```
struct SigV4Signer: Sendable {
    var credentials: S3Credentials
    var region: String
    var service: String

    /// Header names never signed: hop-by-hop headers and ones proxies may rewrite (botocore's list).
    static let unsignedHeaders: Set<String> = [
        "authorization", "connection", "expect", "keep-alive", "proxy-authenticate", "proxy-authorization", "te",
        "trailer", "transfer-encoding", "upgrade", "user-agent", "x-amzn-trace-id",
    ]

    /// The result of signing: every intermediate form, for tests and debugging (never logged: it is harmless, but
    /// the request it belongs to may carry a session token).
    struct Signature: Sendable {
        var canonicalRequest: String
        var stringToSign: String
        var signedHeaders: String
        var authorization: String
        /// The request with `x-amz-date`, `x-amz-security-token` (with a session token) and `Authorization` set.
        var request: SigV4Request
    }

    /// Signs `request` as of `date`: adds `x-amz-date` (and the session token), then `Authorization`.
    func sign(_ request: SigV4Request, at date: Date) -> Signature {
        var request = request
        let timestamp = Self.timestamp(date)
        request.setHeader("X-Amz-Date", timestamp)
        if let token = credentials.sessionToken {
            request.setHeader("X-Amz-Security-Token", token)
        }
        request.headers.removeAll { $0.name.lowercased() == "authorization" }
        let (canonical, signedHeaders) = canonicalRequest(request)
        let scope = "\(timestamp.prefix(8))/\(region)/\(service)/aws4_request"
        let stringToSign = [
            "AWS4-HMAC-SHA256", timestamp, scope, Self.hex(SHA256.hash(data: Array(canonical.utf8))),
        ].joined(separator: "\n")
        let key = signingKey(day: String(timestamp.prefix(8)))
        let signature = Self.hex(HMAC<SHA256>.authenticationCode(for: Array(stringToSign.utf8), using: key))
        let authorization =
            "AWS4-HMAC-SHA256 Credential=\(credentials.accessKeyID)/\(scope), SignedHeaders=\(signedHeaders), "
            + "Signature=\(signature)"
        request.headers.append(("Authorization", authorization))
        return Signature(
            canonicalRequest: canonical, stringToSign: stringToSign, signedHeaders: signedHeaders,
            authorization: authorization, request: request)
    }

    /// The canonical request and the signed-headers list (task 1 of the specification).
    func canonicalRequest(_ request: SigV4Request) -> (canonical: String, signedHeaders: String) {
        let uri = SigV4Encoding.encode(request.path.isEmpty ? "/" : request.path, keepSlash: true)
        let query = request.query
            .map { (SigV4Encoding.encode($0.name, keepSlash: false), SigV4Encoding.encode($0.value, keepSlash: false)) }
            .sorted { a, b in
                a.0 == b.0 ? a.1.utf8.lexicographicallyPrecedes(b.1.utf8) : a.0.utf8.lexicographicallyPrecedes(b.0.utf8)
            }
            .map { "\($0.0)=\($0.1)" }
            .joined(separator: "&")
        // Repeated names join their trimmed values with ',' in order of appearance.
        var values: [String: [String]] = [:]
        for (name, value) in request.headers {
            let lowered = name.lowercased()
            if Self.unsignedHeaders.contains(lowered) { continue }
            values[lowered, default: []].append(Self.trimAll(value))
        }
        let names = values.keys.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }
        let headers = names.map { "\($0):\(values[$0]!.joined(separator: ","))\n" }.joined()
        let signedHeaders = names.joined(separator: ";")
        let canonical = [request.method, uri, query, headers, signedHeaders, request.payloadHash]
            .joined(separator: "\n")
        return (canonical, signedHeaders)
    }

    /// `kSigning = HMAC(HMAC(HMAC(HMAC("AWS4" + secret, day), region), service), "aws4_request")`.
    func signingKey(day: String) -> SymmetricKey {
        func hmac(_ key: SymmetricKey, _ text: String) -> SymmetricKey {
            SymmetricKey(data: HMAC<SHA256>.authenticationCode(for: Array(text.utf8), using: key))
        }
        let secret = SymmetricKey(data: Array(("AWS4" + credentials.secretAccessKey).utf8))
        return hmac(hmac(hmac(hmac(secret, day), region), service), "aws4_request")
    }

    /// Trimall: leading and trailing whitespace removed, inner runs of whitespace (folded lines included) turned
    /// into one space.
    static func trimAll(_ value: String) -> String {
        value.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\n" || $0 == "\r" })
            .joined(separator: " ")
    }

    /// `yyyyMMdd'T'HHmmss'Z'` in UTC.
    static func timestamp(_ date: Date) -> String {
        let seconds = Int64(date.timeIntervalSince1970.rounded(.down))
        let (year, month, day) = civilDate(daysSinceEpoch: Int64((Double(seconds) / 86_400).rounded(.down)))
        let secondOfDay = seconds - Int64((Double(seconds) / 86_400).rounded(.down)) * 86_400
        func two(_ value: Int64) -> String { value < 10 ? "0\(value)" : "\(value)" }
        let yearText = String(year)
        return String(repeating: "0", count: max(0, 4 - yearText.count)) + yearText + two(month) + two(day) + "T"
            + two(secondOfDay / 3600) + two(secondOfDay / 60 % 60) + two(secondOfDay % 60) + "Z"
    }

    /// Year, month and day of the proleptic Gregorian calendar (Howard Hinnant's `civil_from_days`).
    static func civilDate(daysSinceEpoch: Int64) -> (year: Int64, month: Int64, day: Int64) {
        let z = daysSinceEpoch + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let dayOfEra = z - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36_524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let mp = (5 * dayOfYear + 2) / 153
        let day = dayOfYear - (153 * mp + 2) / 5 + 1
        let month = mp < 10 ? mp + 3 : mp - 9
        return (yearOfEra + era * 400 + (month <= 2 ? 1 : 0), month, day)
    }

    static func hex<D: Sequence>(_ digest: D) -> String where D.Element == UInt8 {
        LowercaseHex.encode(digest)
    }
}
