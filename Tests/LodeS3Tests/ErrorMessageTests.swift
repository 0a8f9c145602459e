import Foundation
import Lode
import NIOHTTP1
import Testing

@testable import LodeS3

/// The common mistakes give one clear line naming the problem and the fix, and never a secret. The answers are
/// S3's documented error documents, served by the fault proxy (moto does not check signatures or regions).
@Suite struct ErrorMessageTests {
    static let secret = "SECRETwJalrXUtnFEMIK7MDENGbPxRfiCY"
    static let token = "TOKENFwoGZXIvYXdzEJr0000SESSION"

    struct Canned: Sendable, CustomTestStringConvertible {
        var name: String
        var status: Int
        var headers: [(String, String)] = []
        var body: String
        var expected: S3Error.Code
        var mentions: [String]
        var testDescription: String { name }
    }

    static let cases: [Canned] = [
        Canned(
            name: "wrong key ID", status: 403,
            body: "<Error><Code>InvalidAccessKeyId</Code><Message>The AWS Access Key Id you provided does not exist "
                + "in our records.</Message><AWSAccessKeyId>AKIDTEST</AWSAccessKeyId></Error>",
            expected: .invalidCredentials, mentions: ["InvalidAccessKeyId", "AWS_ACCESS_KEY_ID"]),
        Canned(
            name: "wrong secret", status: 403,
            body: "<Error><Code>SignatureDoesNotMatch</Code><Message>The request signature we calculated does not "
                + "match the signature you provided.</Message><StringToSign>AWS4-HMAC-SHA256\n20250101T000000Z"
                + "</StringToSign><CanonicalRequest>GET\n/\n\nx-amz-security-token:\(token)</CanonicalRequest>"
                + "</Error>",
            expected: .invalidCredentials, mentions: ["SignatureDoesNotMatch", "AWS_SECRET_ACCESS_KEY"]),
        Canned(
            name: "expired token", status: 400,
            body: "<Error><Code>ExpiredToken</Code><Message>The provided token has expired.</Message></Error>",
            expected: .invalidCredentials, mentions: ["ExpiredToken", "AWS_SESSION_TOKEN"]),
        Canned(
            name: "missing bucket", status: 404,
            body: "<Error><Code>NoSuchBucket</Code><Message>The specified bucket does not exist</Message>"
                + "<BucketName>archive</BucketName></Error>",
            expected: .noSuchBucket, mentions: ["'archive'", "NoSuchBucket", "create it"]),
        Canned(
            name: "wrong region (header malformed)", status: 400,
            body: "<Error><Code>AuthorizationHeaderMalformed</Code><Message>The authorization header is malformed; "
                + "the region 'us-east-1' is wrong; expecting 'eu-west-1'</Message><Region>eu-west-1</Region></Error>",
            expected: .wrongRegion, mentions: ["'eu-west-1'", "--s3-region eu-west-1"]),
        Canned(
            name: "wrong region (redirect)", status: 301, headers: [("x-amz-bucket-region", "ap-south-1")],
            body: "<Error><Code>PermanentRedirect</Code><Message>The bucket you are attempting to access must be "
                + "addressed using the specified endpoint.</Message><Endpoint>archive.s3.ap-south-1.amazonaws.com"
                + "</Endpoint></Error>",
            expected: .wrongRegion, mentions: ["--s3-region ap-south-1"]),
        Canned(
            name: "clock skew", status: 403,
            body: "<Error><Code>RequestTimeTooSkewed</Code><Message>The difference between the request time and the "
                + "current time is too large.</Message><ServerTime>2025-01-01T00:00:00Z</ServerTime></Error>",
            expected: .clockSkew, mentions: ["clock", "NTP"]),
        Canned(
            name: "access denied", status: 403,
            body: "<Error><Code>AccessDenied</Code><Message>Access Denied</Message></Error>",
            expected: .accessDenied, mentions: ["AccessDenied", "docs/OPERATIONS.md"]),
    ]

    func store(endpoint: String) throws -> S3Store {
        var configuration = try S3Configuration(
            url: "s3://archive/p", endpoint: endpoint, region: "us-east-1",
            credentials: S3Credentials(accessKeyID: "AKIDTEST", secretAccessKey: Self.secret, sessionToken: Self.token))
        configuration.retry = S3RetryPolicy(maxAttempts: 2, baseDelay: .milliseconds(1))
        configuration.conditionalWrites = .assume
        return S3Store(configuration: configuration)
    }

    func expectClear(_ error: S3Error?, mentions: [String], sourceLocation: SourceLocation = #_sourceLocation) {
        guard let error else { return }
        let text = "\(error)"
        #expect(!text.contains("\n"), "one line: \(text)", sourceLocation: sourceLocation)
        #expect(!text.contains(Self.secret) && !text.contains(Self.token), sourceLocation: sourceLocation)
        for word in mentions {
            #expect(text.contains(word), "'\(word)' missing in: \(text)", sourceLocation: sourceLocation)
        }
    }

    @Test(arguments: cases)
    func cannedErrorsBecomeOneClearLine(canned: Canned) async throws {
        try await FaultProxy.with(
            upstream: "http://127.0.0.1:1",
            decide: { head in
                // HEAD answers carry no body, as S3's do.
                .respond(status: canned.status, headers: canned.headers, body: head.method == .HEAD ? "" : canned.body)
            }
        ) { proxy in
            let store = try store(endpoint: proxy.endpoint)
            expectClear(
                await expectS3Error(canned.expected) { try await store.list(prefix: "") }, mentions: canned.mentions)
            expectClear(
                await expectS3Error(canned.expected) { try await store.put("k", [1]) }, mentions: canned.mentions)
            // HEAD has no body: the store asks a listing for the explanation. (A HEAD in a missing bucket is a
            // plain 404, the same as a missing key: `head` says nil, and the next listing or write names the bucket.)
            if canned.expected != .noSuchBucket {
                expectClear(
                    await expectS3Error(canned.expected) { try await store.head("k") }, mentions: canned.mentions)
            }
        }
    }

    @Test func anUnreachableEndpointIsOneClearLine() async throws {
        let store = try store(endpoint: "http://127.0.0.1:1")
        let error = await expectS3Error(.unreachable) { try await store.get("k") }
        expectClear(error, mentions: ["http://127.0.0.1:1", "connection refused", "--s3-endpoint"])
    }
}
