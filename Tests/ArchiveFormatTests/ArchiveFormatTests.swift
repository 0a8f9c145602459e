import Crypto
import Foundation
import Testing

@testable import ArchiveFormat

@Suite struct ArchiveTimeTests {
    /// Reference: Foundation's calendar arithmetic on generated instants across four centuries.
    @Test func formatsLikeFoundation() {
        var state: UInt64 = 42
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "yyyy-MM-dd'T'HH:mm:ss"
        for _ in 0..<2_000 {
            state = state &* 6_364_136_223_846_793_005 &+ 1
            let seconds = Int64(state >> 34) % 12_000_000_000 - 2_000_000_000  // 1906 ... 2350
            let micros = Int64(state % 1_000_000)
            let nanos = seconds * 1_000_000_000 + micros * 1000 + 999
            let expected =
                formatter.string(from: Date(timeIntervalSince1970: TimeInterval(seconds)))
                + String(format: ".%06dZ", micros)
            #expect(ArchiveTime.rfc3339Micros(nanos) == expected)
            #expect(ArchiveTime.parseRFC3339(expected) == nanos - 999)
            #expect(ArchiveTime.day(ofNanos: nanos) == String(expected.prefix(10)))
        }
    }

    @Test func trimmedCreatedAtForm() {
        #expect(ArchiveTime.rfc3339Trimmed(1_767_225_600_130_002_000) == "2026-01-01T00:00:00.130002Z")
        #expect(ArchiveTime.rfc3339Trimmed(1_767_225_600_000_000_000) == "2026-01-01T00:00:00Z")
        #expect(ArchiveTime.rfc3339Trimmed(1_767_225_600_000_000_001) == "2026-01-01T00:00:00.000000001Z")
    }

    @Test(arguments: [
        ("2025-12-31T23:59:58.5Z", Int64(1_767_225_598_500_000_000)),
        ("2026-01-01T02:00:00+02:00", Int64(1_767_225_600_000_000_000)),
        ("2026-01-01t00:00:00.123456789z", Int64(1_767_225_600_123_456_789)),
    ])
    func parsesOffsetsAndFractions(text: String, nanos: Int64) {
        #expect(ArchiveTime.parseRFC3339(text) == nanos)
    }

    @Test(arguments: [
        "", "2026-01-01", "2026-13-01T00:00:00Z", "2026-01-01T00:00:00", "2026-01-01T00:00:00.Z",
        "2026-01-01T00:00:00Zjunk", "2026-01-01T24:00:00Z",
    ])
    func rejectsMalformedTimes(text: String) {
        #expect(ArchiveTime.parseRFC3339(text) == nil)
    }
}

@Suite struct RecordFormatTests {
    static func encode(_ events: [(Int64, String, String)], chain: ChainHash = .genesis) -> ([[UInt8]], ChainHash) {
        var encoder = RecordEncoder(chain: chain)
        var lines: [[UInt8]] = []
        for (i, (position, stream, data)) in events.enumerated() {
            var line: [UInt8] = []
            encoder.encode(
                position: position, stream: stream, version: Int64(i + 1),
                id: "00000000-0000-4000-8000-\(String(format: "%012d", i))",
                type: "Deposited", recordedAtNanos: 1_767_225_600_000_000_000 + Int64(i) * 1_000_000, data: data,
                metadata: #"{"actor":"teller"}"#, into: &line)
            lines.append(line)
        }
        return (lines, encoder.chain)
    }

    @Test func linesAreValidJSONWithTheDocumentedMembers() throws {
        let (lines, _) = Self.encode([(1, "account-1", #"{"amount":5,"note":"x\"y"}"#), (7, "a \"q\" ü\n", "[1,2]")])
        for line in lines {
            let object = try #require(try JSONSerialization.jsonObject(with: Data(line)) as? [String: Any])
            #expect(
                Set(object.keys) == [
                    "position", "stream", "version", "id", "type", "recorded_at", "data", "metadata", "hash",
                ])
        }
        let second = try #require(try JSONSerialization.jsonObject(with: Data(lines[1])) as? [String: Any])
        #expect(second["stream"] as? String == "a \"q\" ü\n")
        #expect(second["position"] as? Int == 7)
        #expect(second["recorded_at"] as? String == "2026-01-01T00:00:00.001000Z")
        #expect(
            String(decoding: lines[0], as: UTF8.self).hasPrefix(#"{"position":1,"stream":"account-1","version":1,"#))
    }

    /// The chain recomputed independently: SHA-256(previous ‖ line up to `,"hash":"`).
    @Test func hashChainMatchesIndependentComputation() throws {
        let (lines, head) = Self.encode((1...50).map { (Int64($0), "s-\($0 % 3)", #"{"n":\#($0)}"#) })
        var previous = [UInt8](repeating: 0, count: 32)
        for line in lines {
            let text = String(decoding: line, as: UTF8.self)
            let cut = try #require(text.range(of: #","hash":""#, options: .backwards))
            let body = Array(text[..<cut.lowerBound].utf8)
            let digest = Array(SHA256.hash(data: previous + body))
            let hex = digest.map { String(format: "%02x", $0) }.joined()
            #expect(text.hasSuffix(#","hash":"\#(hex)"}"#))
            previous = digest
        }
        #expect(head.bytes == previous)
    }

    @Test func decoderFindsEveryMember() throws {
        let data = #"{"amount":5,"nested":{"metadata":"x","data":[{"hash":"y"}]}}"#
        let (lines, _) = Self.encode([(123_456_789_012, #"acc-"q""#, data)])
        try lines[0].withUnsafeBytes { line in
            let f = try RecordDecoder.decode(line)
            #expect(f.position == 123_456_789_012)
            #expect(f.version == 1)
            #expect(RecordDecoder.string(line, f.stream) == #"acc-"q""#)
            #expect(String(decoding: UnsafeRawBufferPointer(rebasing: line[f.data]), as: UTF8.self) == data)
            #expect(
                String(decoding: UnsafeRawBufferPointer(rebasing: line[f.metadata]), as: UTF8.self)
                    == #"{"actor":"teller"}"#)
            #expect(f.recordedAtNanos == 1_767_225_600_000_000_000)
            #expect(try RecordDecoder.position(of: line, in: "t") == 123_456_789_012)
            let recomputed = ChainHash.genesis.next(body: UnsafeRawBufferPointer(rebasing: line[0..<f.bodyEnd]))
            #expect(RecordDecoder.hashMatches(line, f, recomputed))
        }
    }

    /// Bodies are written through a pointer into room reserved by `maxBodyBytes`: on generated hostile columns
    /// (escapes and control characters in stream, id and type; the extreme integers and instants) they stay
    /// inside that room, equal what `appendBody` appends, and read back through Foundation as the columns.
    @Test func writtenBodiesStayInTheirBoundAndReadBack() throws {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "yyyy-MM-dd'T'HH:mm:ss"
        let texts = ["a", "account-42", "\"", "\\", "\n\t\r", "\u{01}\u{1F}", "ü€😀", "", "x\"y\\z\u{0}"]
        let integers: [Int64] = [0, 1, -1, 9, 10, Int64.max, Int64.min, 1_000_000_007, -42]
        let instants: [Int64] = [0, -1, 999, Int64.max, Int64.min, 1_767_225_600_123_456_789, -86_400_000_000_001]
        var state: UInt64 = 7
        func pick<T>(_ values: [T]) -> T {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return values[Int(state >> 33) % values.count]
        }
        for _ in 0..<3_000 {
            let stream = pick(texts) + pick(texts) + pick(texts)
            let (id, type) = (pick(texts) + pick(texts), pick(texts))
            let (position, version, nanos) = (pick(integers), pick(integers), pick(instants))
            let (data, metadata) = (pick([#"{"a":1}"#, "[]", #""s""#]), pick(["{}", #"{"k":"v"}"#]))
            var appended: [UInt8] = []
            RecordEncoder.appendBody(
                position: position, stream: stream, version: version, id: id, type: type, recordedAtNanos: nanos,
                data: data, metadata: metadata, into: &appended)
            let limit = RecordEncoder.maxBodyBytes(
                stream: stream.utf8.count, id: id.utf8.count, type: type.utf8.count, data: data.utf8.count,
                metadata: metadata.utf8.count)
            #expect(appended.count <= limit)
            let line = try #require(
                try JSONSerialization.jsonObject(with: Data(appended + Array(#","hash":"0"}"#.utf8)))
                    as? [String: Any])
            #expect((line["position"] as? NSNumber)?.int64Value == position)
            #expect((line["version"] as? NSNumber)?.int64Value == version)
            #expect(line["stream"] as? String == stream)
            #expect(line["id"] as? String == id)
            #expect(line["type"] as? String == type)
            let micros = nanos / 1000 - (nanos % 1000 < 0 ? 1 : 0)
            let seconds = micros / 1_000_000 - (micros % 1_000_000 < 0 ? 1 : 0)
            let expected =
                formatter.string(from: Date(timeIntervalSince1970: TimeInterval(seconds)))
                + String(format: ".%06dZ", micros - seconds * 1_000_000)
            #expect(line["recorded_at"] as? String == expected, "\(nanos)")
        }
    }

    /// The fast decoder for lines as written and the generic one agree on every field.
    @Test func fastAndGenericDecodersAgree() throws {
        let datas = [
            "{}", "[]", "null", "-1.5e3", #""s\"q""#, #"{"a":[1,{"b":"}]\""}],"c":{"d":null}}"#,
            #"{"metadata":"x","data":{"hash":"y"}}"#, #"["ü","😀","\u0000"]"#,
        ]
        let (lines, _) = Self.encode(
            datas.enumerated().map { (Int64($0.offset + 1), #"s-\#($0.offset)"x"#, $0.element) })
        for line in lines {
            try line.withUnsafeBytes { bytes in
                let fast = try #require(RecordDecoder.decodeWritten(bytes))
                #expect(fast == (try RecordDecoder.decodeGeneric(bytes)))
            }
        }
    }

    @Test func malformedRecordsAreErrors() {
        let bad = [
            #"{"position":1}"#,
            #"{"stream":"a","position":1,"version":1,"id":"i","type":"t","recorded_at":"2026-01-01T00:00:00.000000Z","data":{},"metadata":{},"hash":"0000000000000000000000000000000000000000000000000000000000000000"}"#,
            #"{"position":1,"stream":"a","version":1,"id":"i","type":"t","recorded_at":"2026-01-01T00:00:00.000000Z","data":{,"metadata":{},"hash":"0000000000000000000000000000000000000000000000000000000000000000"}"#,
        ]
        for text in bad {
            #expect(throws: ArchiveFormatError.self) {
                try Array(text.utf8).withUnsafeBytes { _ = try RecordDecoder.decode($0) }
            }
        }
    }

    @Test func metadataRoundTrip() throws {
        let (_, head) = Self.encode([(1, "a-1", "{}")])
        var facts = ArchiveMetadata(
            firstPosition: 1, lastPosition: 9, eventCount: 5, chainStart: .genesis, chainHead: head,
            parentManifestSHA256: "", cutName: "month-end", producer: "test", fencingToken: 3,
            minRecordedAtNanos: 1_000, maxRecordedAtNanos: 9_000_000)
        facts.signature = nil
        let back = try ArchiveMetadata(entries: facts.entries)
        #expect(back == facts)
        #expect(facts.entries.values.allSatisfy { !$0.isEmpty || $0 == "" })
        var broken = facts.entries
        broken["archiver.event_count"] = "five"
        #expect(throws: ArchiveFormatError.self) { try ArchiveMetadata(entries: broken) }
    }

    @Test func partitionValues() {
        #expect(ArchivePartitioning.category(of: "account-42") == "account")
        #expect(ArchivePartitioning.category(of: "orders") == "orders")
        #expect(ArchivePartitioning.category(of: "a-b-c") == "a")
        #expect(
            ArchivePartitioning.categoryDay.values(stream: "x-1", recordedAtNanos: 1_767_225_599_000_000_000) == [
                "x", "2025-12-31",
            ])
    }
}
