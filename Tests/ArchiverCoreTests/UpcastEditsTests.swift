import ArchiveFormat
import Foundation
import RawJSON
import Testing

@testable import ArchiverCore

/// Generated rule chains of every step kind (member steps on top-level and nested members, renames, versions,
/// drops, and now and then a step on the whole object) over hostile `data` (``HostileJSON``) and metadata:
/// the resolved chains that edit member bytes (``UpcastChain``, ``MemberSlots``) must present on every
/// surface what the tree engine (``Upcaster/apply(_:applied:)``, the oracle) makes of the same event.
@Suite struct UpcastEditsTests {
    /// Keeps each presented event's id, type, data and metadata.
    struct Collect: Projection {
        var seen: [String] = []
        var identity: ProjectionIdentity { ProjectionIdentity(name: "collect-all", version: "1") }
        mutating func apply(_ event: ReplayEvent) throws {
            seen.append(
                "\(event.id) \(event.type) \(event.dataString) \(String(decoding: event.metadata, as: UTF8.self))")
        }
        func rows() throws -> [ProjectedRow] { [] }
        mutating func restore(rows: [ProjectedRow]) throws {}
    }

    static let types = ["T", "U", "V", "W"]
    /// Keys of ``HostileJSON/keys`` (raw, escaped, duplicated in the data), members absent from it, nested
    /// paths through objects, arrays and scalars.
    static let pointers = [
        "/a", "/b", "/n", "/s", "/é", "/x", "/zz", "/absent", "/b/c", "/a/a", "/k~11", "/k~11/x", "/\"", "/x/y/z",
        "/😀", "/n/b",
    ]
    static let metadata = [
        "{}", #"{"schema_version":1}"#, #"{"schema_version":"2"}"#, #"{"schema_version":2.0}"#,
        #"{"schema_version":null}"#, #"{"schema_version":1,"schema_version":2}"#, #"{"\u0073chema_version":2}"#,
        #"{ "actor" : "é\u00e9", "schema_version" : 3 }"#, #"{"schema_version":"x","n":[1,{"a":null}]}"#,
        #"{"schema_version":-0}"#,
    ]

    @Test(arguments: 0..<12)
    func everySurfaceAgreesWithTheTreeEngine(seed: UInt64) throws {
        var random = SplitMix(seed: seed &+ 0xED17)
        let ruleSet = Self.ruleSet(&random)
        let upcaster = Upcaster(ruleSet)
        var replay = try UpcastingProjection(Collect(), rules: ruleSet)
        var fold = try UpcastingProjection(MergePatchFold(), rules: ruleSet)
        var reference = MergePatchFold()
        var expected: [String] = []
        var changed = 0
        for index in 0..<200 {
            let data = HostileJSON.object(&random, depth: 0)
            let type = Self.types[Int(random.next() % UInt64(Self.types.count))]
            let metadata = Self.metadata[Int(random.next() % UInt64(Self.metadata.count))]
            let event = UpcastEvent(
                id: "e\(index)", type: type, data: try JSONValue.parse(data), metadata: try JSONValue.parse(metadata))
            let results = try upcaster.apply(event)
            let presented =
                results?.map { ($0.id, $0.type, $0.data.serializedString, $0.metadata.serializedString) }
                ?? [(event.id, type, data, metadata)]
            if results != nil { changed += 1 }
            expected += presented.map { "\($0.0) \($0.1) \($0.2) \($0.3)" }
            try Self.withEvent(index: index, type: type, data: data, metadata: metadata) {
                try replay.apply($0)
                try fold.apply($0)
            }
            for result in presented {
                try Self.withEvent(index: index, type: result.1, data: result.2, metadata: result.3) {
                    try reference.apply($0)
                }
            }
            let read = try Self.read(upcaster, id: event.id, type: type, data: data, metadata: metadata)
            #expect(read.map { "\($0)" } == presented.map { "\($0)" }, "event \(index): \(type) \(data) \(metadata)")
        }
        #expect(replay.inner.seen == expected, "rules: \(ruleSet.canonicalJSON)")
        #expect(try fold.inner.rows() == reference.rows(), "rules: \(ruleSet.canonicalJSON)")
        #expect(changed > 0, "no rule matched: rules \(ruleSet.canonicalJSON)")
    }

    /// Data that is not JSON is refused on every surface, whether the broken part is a member the rules
    /// remove, convert or move, or one they never name (the fold checks those as it merges them).
    @Test(arguments: [
        #"{"a" 1}"#, #"{"x":tru}"#, #"{"x":[1,}"#, #"{"x":"\q"}"#, #"{"a":1}x"#, #"{"b":{"c":1}"#, #"{"x":"open}"#,
        #"{"a":01}"#, #"{"n":-}"#, #"{"b":[1 2]}"#, #"{"x":1,}"#, #"{,"x":1}"#, "{\u{01}:1}", #"{"a":\#u{01}}"#,
        #"{"x":{"y":nul}}"#, #"{"n":1.}"#,
    ])
    func dataThatIsNotJSONIsRefused(data: String) throws {
        let ruleSet = try UpcastRuleSet(
            yaml: """
                rules:
                  - {name: t, type: T, steps: [{remove: /a}, {to-string: /n}, {move: {from: /b, to: /m}}, {rename-type: U}]}
                """, source: "test")
        var replay = try UpcastingProjection(Collect(), rules: ruleSet)
        var fold = try UpcastingProjection(MergePatchFold(), rules: ruleSet)
        #expect(throws: (any Error).self) {
            try Self.withEvent(index: 0, type: "T", data: data, metadata: "{}") { try replay.apply($0) }
        }
        #expect(throws: (any Error).self) {
            try Self.withEvent(index: 0, type: "T", data: data, metadata: "{}") { try fold.apply($0) }
        }
        #expect(throws: (any Error).self) {
            try Self.read(Upcaster(ruleSet), id: "e", type: "T", data: data, metadata: "{}")
        }
        #expect(replay.inner.seen.isEmpty)
    }

    /// Random rules over three types and two versions; sets the validator refuses are drawn again.
    static func ruleSet(_ random: inout SplitMix) -> UpcastRuleSet {
        while true {
            let rules = (0..<(2 + Int(random.next() % 5))).map { index in
                UpcastRule(
                    name: "r\(index)", type: types[Int(random.next() % 3)],
                    version: random.next() % 3 == 0 ? nil : Int64(1 + random.next() % 2),
                    steps: (0..<(1 + Int(random.next() % 5))).map { _ in step(&random) } + [exit(&random)])
            }
            let set = UpcastRuleSet(rules: rules)
            if (try? set.check()) != nil { return set }
        }
    }

    static func pointer(_ random: inout SplitMix) -> JSONPointer {
        try! JSONPointer(parsing: pointers[Int(random.next() % UInt64(pointers.count))])
    }

    static func step(_ random: inout SplitMix) -> UpcastStep {
        switch random.next() % 16 {
        case 0, 1, 2: return .move(from: pointer(&random), to: pointer(&random))
        case 3, 4:
            let values: [JSONValue] = [.number("7"), .null, .object(["k": .array([.number("1"), .string("é")])])]
            return .defaultValue(at: pointer(&random), value: values[Int(random.next() % 3)])
        case 5, 6: return .remove(pointer(&random))
        case 7, 8: return .toString(pointer(&random))
        case 9, 10: return .toNumber(pointer(&random))
        case 11: return .renameType(types[Int(random.next() % 3)])
        case 12: return .setVersion(Int64(1 + random.next() % 3))
        case 13: return random.next() % 4 == 0 ? .wrap(key: "w") : .remove(pointer(&random))
        case 14: return random.next() % 4 == 0 ? .unwrap(pointer(&random)) : .toString(pointer(&random))
        default: return .move(from: pointer(&random), to: pointer(&random))
        }
    }

    /// How a rule leaves its match: a new version, a new type, a drop, rarely a split.
    static func exit(_ random: inout SplitMix) -> UpcastStep {
        switch random.next() % 8 {
        case 0, 1, 2: return .setVersion(Int64(2 + random.next() % 2))
        case 3, 4, 5: return .renameType(types[1 + Int(random.next() % 3)])
        case 6:
            return .split([
                UpcastStep.SplitPart(type: "W", copies: [(try! JSONPointer(parsing: "/p"), pointer(&random))]),
                UpcastStep.SplitPart(type: "V", copies: [(try! JSONPointer(parsing: "/q/r"), pointer(&random))]),
            ])
        default: return .drop
        }
    }

    /// Calls `body` with an archived event on one of three streams.
    static func withEvent(
        index: Int, type: String, data: String, metadata: String, _ body: (ReplayEvent) throws -> Void
    ) throws {
        var line: [UInt8] = []
        RecordEncoder.appendBody(
            position: Int64(index + 1), stream: "s\(index % 3)", version: Int64(index + 1), id: "e\(index)",
            type: type, recordedAtNanos: 0, data: data, metadata: metadata, into: &line)
        line.append(contentsOf: RenderedEvent.placeholderHash)
        try line.withUnsafeBytes { bytes in
            let fields = try RecordDecoder.decode(bytes)
            try body(
                ReplayEvent(line: bytes, fields: fields, data: UnsafeRawBufferPointer(rebasing: bytes[fields.data])))
        }
    }

    /// The id, type, data and metadata of each event a read line upcasts to (`archiver read`, GET /events).
    static func read(
        _ upcaster: Upcaster, id: String, type: String, data: String, metadata: String
    ) throws -> [(String, String, String, String)] {
        let line = Array(
            #"{"position":1,"stream":"s","id":"\#(id)","type":"\#(type)","data":\#(data),"metadata":\#(metadata)}"#
                .utf8)
        return try line.withUnsafeBytes { try upcaster.upcast(rendered: $0) }.map { out in
            try out.withUnsafeBytes { bytes in
                var members: [String: String] = [:]
                var scanner = try ObjectScanner(bytes)
                while let member = try scanner.next() {
                    members[try scanner.keyString(member)] = String(decoding: scanner.value(member), as: UTF8.self)
                }
                let id = try JSONValue.parse(members["id"] ?? "null").string ?? ""
                let type = try JSONValue.parse(members["type"] ?? "null").string ?? ""
                return (id, type, members["data"] ?? "", members["metadata"] ?? "")
            }
        }
    }
}
