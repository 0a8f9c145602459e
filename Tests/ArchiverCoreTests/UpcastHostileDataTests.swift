import ArchiveFormat
import Foundation
import RawJSON
import Testing

@testable import ArchiverCore

/// Generated `data` written the ways JSON allows (unicode raw and escaped, every escape, duplicate keys, the
/// same key spelled with and without escapes, whitespace everywhere, deep nesting, numbers in every form),
/// upcast by the partial parse on each surface and by the whole tree (``JSONValue``): the bytes must agree.
@Suite struct UpcastHostileDataTests {
    /// Steps on top-level and nested members, keys with escapes and a `/` in them, a nested move out of an
    /// untouched-looking member.
    static let rules = """
        rules:
          - name: t
            type: T
            steps: [{move: {from: /a, to: /é}}, {default: {at: /b/c, value: {"k": [1, "é"]}}}, {to-string: /n},
              {move: {from: /k~11/x, to: /x}}, {remove: /"}, {to-number: /s}, {rename-type: U}, {set-version: 2}]
        """

    static func ruleSet() throws -> UpcastRuleSet { try UpcastRuleSet(yaml: rules, source: "hostile") }

    /// Keeps each presented event's type and data.
    typealias Collect = UpcastPartialDataTests.Collect

    @Test(arguments: 0..<8)
    func everySurfacePresentsTheBytesOfTheWholeTree(seed: UInt64) throws {
        let ruleSet = try Self.ruleSet()
        let upcaster = Upcaster(ruleSet)
        var random = SplitMix(seed: seed &+ 0xDA7A)
        let events = (0..<150).map { _ in HostileJSON.object(&random, depth: 0) }
        var replay = try UpcastingProjection(Collect(), rules: ruleSet)
        var fold = try UpcastingProjection(MergePatchFold(), rules: ruleSet)
        var reference = MergePatchFold()
        #expect(fold.form == .asArchived)
        #expect(replay.form == .canonical)
        var expected: [String] = []
        for (index, data) in events.enumerated() {
            let whole = try #require(
                try upcaster.apply(
                    UpcastEvent(id: "e\(index)", type: "T", data: try JSONValue.parse(data), metadata: .object([:]))))
            let wholeData = whole.map(\.data.serializedString)
            expected += whole.map { "\($0.type) \($0.data.serializedString)" }
            try Self.withEvent(index: index, data: data) {
                try replay.apply($0)
                try fold.apply($0)
            }
            for text in wholeData { try Self.withEvent(index: index, data: text) { try reference.apply($0) } }
            #expect(try Self.readData(upcaster, data) == wholeData, "event \(index): \(data)")
        }
        #expect(replay.inner.seen == expected)
        #expect(try fold.inner.rows() == reference.rows())
        #expect(try reference.rows().count == 3)
    }

    /// Members no rule names nested far deeper than a tree-building parser would like, and past the limit.
    @Test func deepNestingStaysBytesAndPastTheLimitIsRefused() throws {
        let ruleSet = try Self.ruleSet()
        let upcaster = Upcaster(ruleSet)
        let deep = String(repeating: #"{"d":["#, count: 200) + "1" + String(repeating: "]}", count: 200)
        let data = #"{"z":\#(deep),"a":"\u00e9"}"#
        var replay = try UpcastingProjection(Collect(), rules: ruleSet)
        try Self.withEvent(index: 0, data: data) { try replay.apply($0) }
        let expected = #"{"b":{"c":{"k":[1,"é"]}},"z":\#(deep),"é":"é"}"#
        #expect(replay.inner.seen == ["U " + expected])
        #expect(try Self.readData(upcaster, data) == [expected])

        let tooDeep = #"{"z":"# + String(repeating: "[", count: 600) + String(repeating: "]", count: 600) + "}"
        let replayError = #expect(throws: ArchiverError.self) {
            try Self.withEvent(index: 1, data: tooDeep) { try replay.apply($0) }
        }
        #expect(replayError?.code == .invalidData)
        let readError = #expect(throws: ArchiverError.self) { try Self.readData(upcaster, tooDeep) }
        #expect(readError?.code == .invalidData)
    }

    /// Calls `body` with an archived event of type T on one of three streams holding `data`.
    static func withEvent(index: Int, data: String, _ body: (ReplayEvent) throws -> Void) throws {
        var line: [UInt8] = []
        RecordEncoder.appendBody(
            position: Int64(index + 1), stream: "s\(index % 3)", version: Int64(index + 1), id: "e\(index)",
            type: "T", recordedAtNanos: 0, data: data, metadata: "{}", into: &line)
        line.append(contentsOf: RenderedEvent.placeholderHash)
        try line.withUnsafeBytes { bytes in
            let fields = try RecordDecoder.decode(bytes)
            try body(
                ReplayEvent(line: bytes, fields: fields, data: UnsafeRawBufferPointer(rebasing: bytes[fields.data])))
        }
    }

    /// The `data` of each event a read line upcasts to (`archiver read`, GET /events).
    static func readData(_ upcaster: Upcaster, _ data: String) throws -> [String] {
        let line = Array(#"{"position":1,"stream":"s","id":"e","type":"T","data":\#(data),"metadata":{}}"#.utf8)
        return try line.withUnsafeBytes { try upcaster.upcast(rendered: $0) }.map { out in
            try out.withUnsafeBytes { bytes in
                var scanner = try ObjectScanner(bytes)
                while let member = try scanner.next() {
                    if scanner.key(member, equals: "data") {
                        return String(decoding: scanner.value(member), as: UTF8.self)
                    }
                }
                return ""
            }
        }
    }
}

/// JSON text of the shapes a tree-free parser gets wrong: written by hand, not by a serializer.
enum HostileJSON {
    /// Top-level keys include the rules' (`a`, `b`, `n`, `s`, `k/1`, `"`), spelled raw or escaped, and twice.
    static let keys = [
        "a", #"\u0061"#, "b", "n", "s", #"k/1"#, #"k\/1"#, #"\""#, "é", #"\u00e9"#, "😀", #"\ud83d\ude00"#, "",
        "zz", "a\u{7F}", #"\n"#, "x", "B", "aa",
    ]
    static let strings = [
        #""""#, #""é""#, #""\u00e9""#, #""\/""#, #""\n\t\r\b\f""#, #""\"\\""#, #""\ud83d\ude00""#, #""😀 東京""#,
        #""\u0000\u001f""#, #""12.5""#, #""-0""#, #""1e3x""#, #""\u0031""#,
    ]
    static let numbers = ["0", "-0", "1e5", "1.50", "-12.5E-3", "12345678901234567890123", "2E+2", "0.0"]
    static let spaces = ["", "", "", " ", "\n", "\t ", "\r\n  "]

    static func object(_ random: inout SplitMix, depth: Int) -> String {
        let count = Int(random.next() % (depth == 0 ? 9 : 4))
        let members = (0..<count).map { _ in
            let key = keys[Int(random.next() % UInt64(depth == 0 ? keys.count : 6))]
            return space(&random) + "\"\(key)\"" + space(&random) + ":" + space(&random) + value(&random, depth: depth)
                + space(&random)
        }
        return "{" + members.joined(separator: ",") + space(&random) + "}"
    }

    static func value(_ random: inout SplitMix, depth: Int) -> String {
        let nest = depth < 5 ? 9 : 6
        switch random.next() % UInt64(nest) {
        case 0, 1: return strings[Int(random.next() % UInt64(strings.count))]
        case 2, 3: return numbers[Int(random.next() % UInt64(numbers.count))]
        case 4: return ["true", "false", "null"][Int(random.next() % 3)]
        case 5:
            // A chain nested deep enough to matter, rarely.
            let levels = random.next() % 16 == 0 ? 40 : 1
            return String(repeating: "[", count: levels) + "1" + String(repeating: "]", count: levels)
        case 6: return object(&random, depth: depth + 1)
        default:
            let items = (0..<Int(random.next() % 4)).map { _ in space(&random) + value(&random, depth: depth + 1) }
            return "[" + items.joined(separator: ",") + space(&random) + "]"
        }
    }

    static func space(_ random: inout SplitMix) -> String { spaces[Int(random.next() % UInt64(spaces.count))] }
}
