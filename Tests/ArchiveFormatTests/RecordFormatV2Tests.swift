import Foundation
import Testing

@testable import ArchiveFormat

/// Format 2 writes the same bodies as format 1 without the `hash` member; every chain value stays the same.
@Suite struct RecordFormatV2Tests {
    static let datas = [
        "{}", "[]", "null", "-1.5e3", #""s\"q""#, #"{"a":[1,{"b":"}]\""}],"c":{"d":null}}"#,
        #"{"metadata":"x","data":{"hash":"y"}}"#, #"["ü","😀","\u0000"]"#,
        #"{"x":",\"hash\":\"0000000000000000000000000000000000000000000000000000000000000000\"}"}"#,
    ]
    static let metadatas = [
        #"{"actor":"teller"}"#, "{}", #""a string""#, #"{"hash":"\#(String(repeating: "0", count: 64))"}"#,
    ]

    static func encode(_ format: RecordFormat) -> ([[UInt8]], ChainHash) {
        var encoder = RecordEncoder(chain: .genesis, format: format)
        var lines: [[UInt8]] = []
        for (i, data) in datas.enumerated() {
            var line: [UInt8] = []
            encoder.encode(
                position: Int64(i + 1), stream: #"s-\#(i)"x"#, version: Int64(i + 1), id: "id-\(i)",
                type: "Deposited", recordedAtNanos: 1_767_225_600_000_000_000 + Int64(i) * 1_000, data: data,
                metadata: metadatas[i % metadatas.count], into: &line)
            lines.append(line)
        }
        return (lines, encoder.chain)
    }

    @Test func v2LinesAreV1LinesWithoutTheHashMemberAndChainTheSame() throws {
        let (v1, head1) = Self.encode(.v1)
        let (v2, head2) = Self.encode(.v2)
        #expect(head1 == head2 && head1 != .genesis)
        for (a, b) in zip(v1, v2) {
            #expect(Array(a.dropLast(RecordFormat.v1.restCount)) + [UInt8(ascii: "}")] == b)
            let object = try #require(try JSONSerialization.jsonObject(with: Data(b)) as? [String: Any])
            #expect(object["hash"] == nil && object.count == 8)
        }
    }

    @Test func bothDecodersReadV2AndRecomputeTheV1Hashes() throws {
        let (v1, _) = Self.encode(.v1)
        let (v2, _) = Self.encode(.v2)
        var chain = ChainHash.genesis
        for (a, b) in zip(v1, v2) {
            try a.withUnsafeBytes { old in
                try b.withUnsafeBytes { new in
                    let fast = try #require(RecordDecoder.decodeWritten(new))
                    #expect(fast == (try RecordDecoder.decodeGeneric(new)))
                    let f1 = try RecordDecoder.decode(old)
                    #expect(!fast.hasHash && fast.format == .v2 && f1.format == .v1)
                    #expect(fast.bodyEnd == new.count - 1 && fast.bodyEnd == f1.bodyEnd)
                    #expect(fast.data == f1.data && fast.metadata == f1.metadata && fast.position == f1.position)
                    #expect(RecordDecoder.hash(new, fast) == nil)
                    let stored = try #require(RecordDecoder.hash(old, f1))
                    #expect(RecordDecoder.chainHash(new, fast, after: chain) == stored)
                    #expect(RecordDecoder.chainHash(old, f1, after: .genesis) == stored)
                    chain = stored
                }
            }
        }
    }

    @Test func aV2LineWithWhitespaceBeforeItsBraceHashesItsWholeBody() throws {
        let head = #"{"position":1,"stream":"a","version":1,"id":"i","type":"t","#
        let text = head + #""recorded_at":"2026-01-01T00:00:00.000000Z","data":{},"metadata":{} }"#
        try Array(text.utf8).withUnsafeBytes { line in
            let fields = try RecordDecoder.decode(line)
            #expect(fields.format == .v2 && fields.bodyEnd == line.count - 1)
        }
        let unclosed = head + #""recorded_at":"2026-01-01T00:00:00.000000Z","data":{}}"#
        #expect(throws: ArchiveFormatError.self) {
            try Array(unclosed.utf8).withUnsafeBytes { _ = try RecordDecoder.decode($0) }
        }
    }

    @Test func metadataCarriesTheFormatAndTheFileChains() throws {
        let (_, head) = Self.encode(.v2)
        var facts = ArchiveMetadata(
            firstPosition: 1, lastPosition: 9, eventCount: 9, chainStart: .genesis, chainHead: head,
            parentManifestSHA256: "", cutName: nil, producer: "test", fencingToken: 1, minRecordedAtNanos: 1_000,
            maxRecordedAtNanos: 9_000)
        facts.format = .v2
        facts.fileChains = [FileChain(start: .genesis, head: head), FileChain(start: head, head: .genesis)]
        let entries = facts.entries
        #expect(entries["archiver.format"] == "2")
        #expect(entries["archiver.file_chain_starts"] == ChainHash.genesis.hex + " " + head.hex)
        #expect(try ArchiveMetadata(entries: entries) == facts)

        var newer = entries
        newer["archiver.format"] = "3"
        #expect(throws: ArchiveFormatError.self) { try ArchiveMetadata(entries: newer) }
        var uneven = entries
        uneven["archiver.file_chain_heads"] = head.hex
        #expect(throws: ArchiveFormatError.self) { try ArchiveMetadata(entries: uneven) }
        var short = entries
        short["archiver.file_chain_starts"] = "abc " + head.hex
        #expect(throws: ArchiveFormatError.self) { try ArchiveMetadata(entries: short) }
        var v1 = facts
        v1.format = .v1
        v1.fileChains = nil
        #expect(try ArchiveMetadata(entries: v1.entries).fileChains == nil)
    }

    @Test(arguments: [("1", RecordFormat.v1), ("v2", .v2), ("2", .v2)])
    func formatNamesParse(text: String, format: RecordFormat) {
        #expect(RecordFormat(parsing: text) == format)
        #expect(RecordFormat(parsing: "3") == nil)
    }
}
