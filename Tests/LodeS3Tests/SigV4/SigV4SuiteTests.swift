import Crypto
import Foundation
import Testing

@testable import LodeS3

/// One case of the AWS Signature Version 4 test suite (Fixtures/aws-sig-v4-test-suite).
struct SuiteCase: CustomTestStringConvertible, Sendable {
    var name: String
    /// The case's files without extension, e.g. `…/get-vanilla/get-vanilla`.
    var base: String
    var testDescription: String { name }

    static let root = Fixtures.root + "/aws-sig-v4-test-suite"

    /// Every `.req` under the suite.
    static var all: [SuiteCase] {
        let enumerator = FileManager.default.enumerator(atPath: root)
        var cases: [SuiteCase] = []
        while let path = enumerator?.nextObject() as? String {
            guard path.hasSuffix(".req") else { continue }
            let base = root + "/" + path.dropLast(4)
            cases.append(SuiteCase(name: String(path.dropLast(4).split(separator: "/").last!), base: base))
        }
        return cases.sorted { $0.name < $1.name }
    }

    /// S3 never normalizes paths: these cases expect `/./`, `/../` and `//` to be removed.
    static let normalizing: Set<String> = [
        "get-relative", "get-relative-relative", "get-slash", "get-slash-dot-slash", "get-slash-pointless-dot",
        "get-slashes",
    ]

    func file(_ ext: String) throws -> String { try String(contentsOfFile: base + "." + ext, encoding: .utf8) }

    /// Parses the `.req` file: request line, headers (folded lines joined with a newline), blank line, body.
    func request() throws -> (request: SigV4Request, rawPath: String) {
        let text = try file("req")
        let (head, body): (Substring, Substring)
        if let blank = text.range(of: "\n\n") {
            (head, body) = (text[..<blank.lowerBound], text[blank.upperBound...])
        } else {
            (head, body) = (text[...], "")
        }
        var lines = head.split(separator: "\n", omittingEmptySubsequences: false)
        let requestLine = lines.removeFirst()
        let method = String(requestLine.prefix { $0 != " " })
        let target = requestLine.dropFirst(method.count + 1).dropLast(" HTTP/1.1".count)
        let rawPath = String(target.prefix { $0 != "?" })
        var query: [(name: String, value: String)] = []
        if let mark = target.firstIndex(of: "?") {
            for pair in target[target.index(after: mark)...].split(separator: "&") {
                let name = pair.prefix { $0 != "=" }
                let value = pair.dropFirst(name.count + 1)
                query.append(
                    (
                        SigV4Encoding.decode(String(name), plusIsSpace: false)!,
                        SigV4Encoding.decode(String(value), plusIsSpace: false)!
                    ))
            }
        }
        var headers: [(name: String, value: String)] = []
        for line in lines {
            if line.first == " " || line.first == "\t" {
                headers[headers.count - 1].value += "\n" + line
            } else if let colon = line.firstIndex(of: ":") {
                headers.append((String(line[..<colon]), String(line[line.index(after: colon)...])))
            }
        }
        let payloadHash = SigV4Signer.hex(SHA256.hash(data: Array(body.utf8)))
        return (
            SigV4Request(
                method: method, path: SigV4Encoding.decode(rawPath, plusIsSpace: false)!, query: query,
                headers: headers, payloadHash: payloadHash), rawPath
        )
    }
}

@Suite struct SigV4SuiteTests {
    static let date = Date(timeIntervalSince1970: 1_440_938_160)  // 20150830T123600Z

    func signer(for testCase: SuiteCase) -> SigV4Signer {
        // Only get-vanilla-with-session-token signs a token it does not carry in its .req.
        let token =
            testCase.name == "get-vanilla-with-session-token"
            ? "6e86291e8372ff2a2260956d9b8aae1d763fbf315fa00fa31553b73ebf194267" : nil
        return SigV4Signer(
            credentials: S3Credentials(
                accessKeyID: "AKIDEXAMPLE", secretAccessKey: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
                sessionToken: token),
            region: "us-east-1", service: "service")
    }

    @Test func theSuiteIsThere() {
        #expect(SuiteCase.all.count >= 30)
        #expect(SuiteCase.all.contains { $0.name == "get-vanilla" })
        #expect(SuiteCase.all.contains { $0.name == "post-x-www-form-urlencoded" })
    }

    /// Canonical request, string to sign and Authorization equal the published ones byte for byte.
    @Test(arguments: SuiteCase.all.filter { !SuiteCase.normalizing.contains($0.name) })
    func matchesThePublishedVectors(testCase: SuiteCase) throws {
        let (request, _) = try testCase.request()
        let signature = signer(for: testCase).sign(request, at: Self.date)
        #expect(signature.canonicalRequest == (try testCase.file("creq")))
        #expect(signature.stringToSign == (try testCase.file("sts")))
        #expect(signature.authorization == (try testCase.file("authz")))
        #expect(signature.request.header("Authorization") == (try testCase.file("authz")))
    }

    /// S3 does not normalize paths: the canonical URI is the path as sent, encoded once; every other line of the
    /// canonical request is still the published one.
    @Test(arguments: SuiteCase.all.filter { SuiteCase.normalizing.contains($0.name) })
    func s3KeepsThePathUnnormalized(testCase: SuiteCase) throws {
        let (request, rawPath) = try testCase.request()
        let signature = signer(for: testCase).sign(request, at: Self.date)
        var ours = signature.canonicalRequest.split(separator: "\n", omittingEmptySubsequences: false)
        var published = try testCase.file("creq").split(separator: "\n", omittingEmptySubsequences: false)
        #expect(ours[1] == Substring(SigV4Encoding.encode(rawPath, keepSlash: true)))
        #expect(ours[1] != published[1], "the published URI is normalized")
        ours.remove(at: 1)
        published.remove(at: 1)
        #expect(ours == published)
    }

    @Test func signingKeyOfTheDocumentationExample() {
        // The derived key of AWS's documented example (secret wJalr…, 20150830, us-east-1, iam).
        let signer = SigV4Signer(
            credentials: S3Credentials(
                accessKeyID: "AKIDEXAMPLE", secretAccessKey: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"),
            region: "us-east-1", service: "iam")
        let key = signer.signingKey(day: "20150830").withUnsafeBytes { SigV4Signer.hex($0) }
        #expect(key == "c4afb1cc5771d871763a393e44b703571b55cc28424d1a5e86da6ed3c154a4b9")
    }

    @Test func timestampsAreUTC() {
        #expect(SigV4Signer.timestamp(Self.date) == "20150830T123600Z")
        #expect(SigV4Signer.timestamp(Date(timeIntervalSince1970: 0)) == "19700101T000000Z")
        #expect(SigV4Signer.timestamp(Date(timeIntervalSince1970: 951_782_400)) == "20000229T000000Z")
        #expect(SigV4Signer.timestamp(Date(timeIntervalSince1970: 4_102_444_799)) == "20991231T235959Z")
    }

    @Test func encodingKeepsOnlyUnreservedBytes() {
        #expect(SigV4Encoding.encode("a b+c%d~e/f", keepSlash: true) == "a%20b%2Bc%25d~e/f")
        #expect(SigV4Encoding.encode("a/b=c&ሴ", keepSlash: false) == "a%2Fb%3Dc%26%E1%88%B4")
        #expect(SigV4Encoding.decode("a%20b+c%2B", plusIsSpace: true) == "a b c+")
        #expect(SigV4Encoding.decode("a%2", plusIsSpace: false) == nil)
        #expect(SigV4Encoding.decode("%FF", plusIsSpace: false) == nil)
    }
}
