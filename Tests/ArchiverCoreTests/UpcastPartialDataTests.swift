import ArchiveFormat
import Foundation
import RawJSON
import Testing

@testable import ArchiverCore

/// Replay parses only the `data` members the rules name and writes the others from their bytes: what it
/// presents must be the bytes of the whole-tree path (``JSONValue/serialize()``), whatever the others hold.
@Suite struct UpcastPartialDataTests {
    /// Keeps each presented event's type and data.
    struct Collect: Projection {
        var seen: [String] = []
        var identity: ProjectionIdentity { ProjectionIdentity(name: "collect", version: "1") }
        mutating func apply(_ event: ReplayEvent) throws { seen.append(event.type + " " + event.dataString) }
        func rows() throws -> [ProjectedRow] { [] }
        mutating func restore(rows: [ProjectedRow]) throws {}
    }

    static let rules = """
        rules:
          - name: a
            type: T
            steps: [{move: {from: /b/c, to: /m}}, {remove: /z}, {default: {at: /k, value: 1}}, {to-string: /n},
              {rename-type: U}]
        """

    /// Escaped and duplicate keys (named and not), keys sorting around the named ones, whitespace, numbers
    /// as written, escapes appendQuoted writes otherwise, data that is not an object.
    static let data = [
        #"{"b":{"c":1,"d":[1,2]},"z":0,"n":5,"x":"\u00e9\/","a":[{"q":1,"p":2}],"\u0062":{"c":"dup"}, "ma" : { "y" : 1e0 , "x":-0 },"a":7}"#,
        #"{}"#, #"{"zz":1,"aa":2}"#, #"[1,2]"#, #"{"m":null,"n":"s","k":2}"#, #"{"\u007a":1,"b":3,"l\n":true}"#,
    ]

    @Test func presentsTheBytesOfTheWholeTree() throws {
        let ruleSet = try UpcastRuleSet(yaml: Self.rules, source: "test")
        var projection = try UpcastingProjection(Collect(), rules: ruleSet)
        var expected: [String] = []
        for (index, data) in Self.data.enumerated() {
            var line: [UInt8] = []
            RecordEncoder.appendBody(
                position: Int64(index + 1), stream: "s", version: Int64(index + 1), id: "e\(index)", type: "T",
                recordedAtNanos: 0, data: data, metadata: "{}", into: &line)
            line.append(contentsOf: RenderedEvent.placeholderHash)
            try line.withUnsafeBytes { bytes in
                let fields = try RecordDecoder.decode(bytes)
                try projection.apply(
                    ReplayEvent(line: bytes, fields: fields, data: UnsafeRawBufferPointer(rebasing: bytes[fields.data]))
                )
            }
            let event = UpcastEvent(id: "e\(index)", type: "T", data: try JSONValue.parse(data), metadata: .object([:]))
            let whole = try #require(try Upcaster(ruleSet).apply(event))
            expected += whole.map { "\($0.type) \($0.data.serializedString)" }
        }
        #expect(projection.inner.seen == expected)
        #expect(
            projection.inner.seen.first
                == #"U {"a":7,"b":{},"k":1,"m":"dup","ma":{"x":-0,"y":1e0},"n":"5","x":"é/"}"#)
    }

    /// Each type parses only the members of the rules its chain can meet, renames included: B's rule reads /x
    /// of an event that starts as A, and C's rule on /z changes nothing of A's.
    @Test func aChainReadsTheMembersOfTheTypesItRenamesTo() throws {
        let ruleSet = try UpcastRuleSet(
            yaml: """
                rules:
                  - {name: a, type: A, steps: [{rename-type: B}]}
                  - {name: b, type: B, steps: [{move: {from: /x, to: /y}}, {default: {at: /w, value: 0}}, {rename-type: D}]}
                  - {name: c, type: C, steps: [{remove: /z}, {rename-type: E}]}
                """, source: "test")
        let upcaster = Upcaster(ruleSet)
        #expect(upcaster.chain(type: "A", version: 1)?.keys.keys == ["w", "x", "y"])
        #expect(upcaster.chain(type: "C", version: 1)?.keys.keys == ["z"])
        let data = #"{"z":{"b":1,"a":"\u00e9"},"x":[1, 2]}"#
        let expected = #"{"w":0,"y":[1,2],"z":{"a":"é","b":1}}"#
        var projection = try UpcastingProjection(Collect(), rules: ruleSet)
        var line: [UInt8] = []
        RecordEncoder.appendBody(
            position: 1, stream: "s", version: 1, id: "e", type: "A", recordedAtNanos: 0, data: data,
            metadata: "{}", into: &line)
        line.append(contentsOf: RenderedEvent.placeholderHash)
        try line.withUnsafeBytes { bytes in
            let fields = try RecordDecoder.decode(bytes)
            try projection.apply(
                ReplayEvent(line: bytes, fields: fields, data: UnsafeRawBufferPointer(rebasing: bytes[fields.data])))
        }
        #expect(projection.inner.seen == ["D " + expected])
        let read = Array(#"{"id":"e","type":"A","data":\#(data)}"#.utf8)
        let upcast = try read.withUnsafeBytes { try upcaster.upcast(rendered: $0) }
        #expect(upcast.map { String(decoding: $0, as: UTF8.self) } == [#"{"id":"e","type":"D","data":\#(expected)}"#])
    }
}
