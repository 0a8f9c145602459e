import Foundation
import Testing

@testable import LodeS3

/// Foundation's XMLParser (libxml2) as used by the store, checked against Python's xml.etree (expat) on generated
/// ListObjectsV2 answers with hostile keys, character references, CDATA and truncation; then fuzzed.
@Suite struct XMLTests {
    struct Reference: Decodable {
        var xml_hex: String
        var ok: Bool
        var keys: [String]?
        var prefixes: [String]?
        var truncated: Bool?
        var token: String?

        var bytes: [UInt8] {
            var out: [UInt8] = []
            var index = xml_hex.startIndex
            while index < xml_hex.endIndex {
                let next = xml_hex.index(index, offsetBy: 2)
                out.append(UInt8(xml_hex[index..<next], radix: 16)!)
                index = next
            }
            return out
        }
    }

    static func references(seed: Int, count: Int) async throws -> [Reference] {
        let output = try await runReference(
            "xml_reference.py", input: Array(#"{"seed": \#(seed), "count": \#(count)}"#.utf8))
        return try JSONDecoder().decode([Reference].self, from: Data(output))
    }

    @Test func listPagesMatchTheReferenceParser() async throws {
        let references = try await Self.references(seed: 20_250_101, count: 600)
        var parsed = 0
        var rejected = 0
        for (index, reference) in references.enumerated() {
            let result = Result { try S3Responses.ListPage.parse(reference.bytes) }
            switch (reference.ok, result) {
            case (true, .success(let page)):
                parsed += 1
                #expect(page.objects.map(\.key) == reference.keys, "document \(index)")
                #expect(page.commonPrefixes == reference.prefixes, "document \(index)")
                #expect(page.isTruncated == reference.truncated, "document \(index)")
                #expect(page.nextContinuationToken == reference.token, "document \(index)")
            case (false, .failure(let error)):
                rejected += 1
                #expect((error as? S3Error)?.code == .invalidResponse)
            case (true, .failure(let error)):
                Issue.record("document \(index): the reference parses it, we fail: \(error)")
            case (false, .success):
                Issue.record("document \(index): the reference rejects it, we accept it")
            }
        }
        // The generator must exercise both outcomes.
        #expect(parsed > 300)
        #expect(rejected > 50)
    }

    @Test func errorBodies() throws {
        let xml = """
            <?xml version="1.0" encoding="UTF-8"?>
            <Error><Code>AuthorizationHeaderMalformed</Code><Message>the region &apos;us-east-1&apos; is wrong; \
            expecting &apos;eu-west-1&apos;</Message><Region>eu-west-1</Region><RequestId>R1</RequestId></Error>
            """
        let body = try #require(S3Responses.ErrorBody.parse(Array(xml.utf8)))
        #expect(body.code == "AuthorizationHeaderMalformed")
        #expect(body.region == "eu-west-1")
        #expect(body.message == "the region 'us-east-1' is wrong; expecting 'eu-west-1'")
        #expect(S3Responses.ErrorBody.parse([]) == nil)
        #expect(S3Responses.ErrorBody.parse(Array("<html>proxy error</html>".utf8)) == nil)
        #expect(S3Responses.ErrorBody.parse(Array("<Error><Code>SlowDown</Code>".utf8)) == nil)
    }

    @Test func multipartDocuments() throws {
        let initiate = """
            <InitiateMultipartUploadResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Bucket>b</Bucket>\
            <Key>k</Key><UploadId>VXBsb2FkIElE&amp;x</UploadId></InitiateMultipartUploadResult>
            """
        #expect(try S3Responses.uploadID(Array(initiate.utf8)) == "VXBsb2FkIElE&x")
        let inBodyError = "<Error><Code>InternalError</Code><Message>try again</Message></Error>"
        #expect(try S3Responses.completion(Array(inBodyError.utf8))?.code == "InternalError")
        #expect(try S3Responses.completion(Array("<CompleteMultipartUploadResult/>".utf8)) == nil)
        // Our completion body round-trips through the reference-grade parser, quotes and ampersands included.
        let body = S3Responses.completeBody(etags: ["\"a&b\"", "\"<c>\""])
        let tree = try XMLTree.parse(body, what: "test")
        #expect(tree.children("Part").map { $0.text("ETag") } == ["\"a&b\"", "\"<c>\""])
        #expect(tree.children("Part").map { $0.text("PartNumber") } == ["1", "2"])
    }

    @Test func entitiesAreNotExpandedFromOutside() throws {
        // An external entity must never be loaded; an undeclared entity is an error.
        let external = """
            <?xml version="1.0"?><!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]>\
            <ListBucketResult><IsTruncated>false</IsTruncated><Contents><Key>&x;</Key><Size>1</Size></Contents>\
            </ListBucketResult>
            """
        if let page = try? S3Responses.ListPage.parse(Array(external.utf8)) {
            #expect(!(page.objects.first?.key.contains("root:") ?? false))
        }
        let undeclared = "<ListBucketResult><Contents><Key>&nope;</Key><Size>1</Size></Contents></ListBucketResult>"
        #expect(throws: S3Error.self) { try S3Responses.ListPage.parse(Array(undeclared.utf8)) }
    }

    /// Random mutations of valid documents: the parser must never crash, and whatever it accepts is a page.
    @Test func fuzzedDocumentsNeverCrash() async throws {
        let seeds = try await Self.references(seed: 7, count: 60).filter(\.ok).map(\.bytes)
        var generator = SeededGenerator(seed: 99)
        var accepted = 0
        for _ in 0..<(ProcessInfo.processInfo.environment["ARCHIVER_FUZZ_ITERATIONS"].flatMap(Int.init) ?? 3_000) {
            var bytes = seeds.randomElement(using: &generator)!
            for _ in 0..<Int.random(in: 1...4, using: &generator) where !bytes.isEmpty {
                let position = Int.random(in: 0..<bytes.count, using: &generator)
                switch Int.random(in: 0..<4, using: &generator) {
                case 0: bytes[position] = UInt8.random(in: 0...255, using: &generator)
                case 1: bytes.remove(at: position)
                case 2: bytes.insert(Array("<>&;/!?[]\"'#x".utf8).randomElement(using: &generator)!, at: position)
                default: bytes.insert(contentsOf: bytes[position..<min(bytes.count, position + 16)], at: position)
                }
            }
            if let page = try? S3Responses.ListPage.parse(bytes) {
                accepted += 1
                #expect(page.objects.allSatisfy { $0.size >= 0 })
            }
        }
        #expect(accepted > 0)
    }
}
