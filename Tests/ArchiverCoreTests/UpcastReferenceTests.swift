import ArchiverCore
import Foundation
import RawJSON
import TestSupport
import Testing

/// Generated rule chains and events, upcast by the Swift engine and by the independent Python reference of the
/// documented semantics (Tests/ArchiverCLITests/Fixtures/upcast_reference.py): the outputs must be equal,
/// byte for byte, and so must the rule sets' hashes.
@Suite struct UpcastReferenceTests {
    static let reference = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("ArchiverCLITests/Fixtures/upcast_reference.py").path

    @Test(arguments: 0..<10)
    func swiftAgreesWithThePythonReference(seed: UInt64) async throws {
        var random = SplitMix(seed: seed &+ 0x5EED)
        let rules = Self.ruleSet(&random)
        let events = (0..<300).map { Self.event(&random, index: $0) }
        let upcaster = Upcaster(rules)
        var expected = ""
        for line in events {
            var bytes = Array(line.utf8)
            for out in try bytes.withUnsafeMutableBytes({ try upcaster.upcast(rendered: UnsafeRawBufferPointer($0)) }) {
                expected += String(decoding: out, as: UTF8.self) + "\n"
            }
        }
        let directory = NSTemporaryDirectory() + "upcast-ref-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try rules.canonicalJSON.write(toFile: directory + "/rules.json", atomically: true, encoding: .utf8)
        try events.map { $0 + "\n" }.joined().write(
            toFile: directory + "/events.jsonl", atomically: true, encoding: .utf8)
        let output = try await Self.python(
            [Self.reference, directory + "/rules.json"], stdin: directory + "/events.jsonl")
        if output != expected {
            // Left for a look: the first differing line tells which step the two disagree on.
            let kept = NSTemporaryDirectory() + "upcast-reference-seed-\(seed)"
            try? FileManager.default.removeItem(atPath: kept)
            try FileManager.default.copyItem(atPath: directory, toPath: kept)
            try expected.write(toFile: kept + "/swift.jsonl", atomically: true, encoding: .utf8)
            try output.write(toFile: kept + "/python.jsonl", atomically: true, encoding: .utf8)
        }
        #expect(output == expected, "rules: \(rules.canonicalJSON); outputs kept in upcast-reference-seed-\(seed)")
        #expect(expected != events.map { $0 + "\n" }.joined(), "the rules changed no event")
        let hash = try await Self.python([Self.reference, "--hash", directory + "/rules.json"], stdin: nil)
        #expect(hash == rules.hash + "\n")
    }

    static func python(_ arguments: [String], stdin: String?) async throws -> String {
        let input = try stdin.map { Array(try Data(contentsOf: URL(fileURLWithPath: $0))) }
        return String(decoding: try await runPython(arguments, stdin: input), as: UTF8.self)
    }

    static let types = ["A", "B", "C", "D"]
    static let pointers = ["/a", "/b", "/c", "/n/x", "/n/y", "/m", "/s"]

    /// Random rules over a few types and versions; sets the validator refuses are drawn again.
    static func ruleSet(_ random: inout SplitMix) -> UpcastRuleSet {
        while true {
            let count = 2 + Int(random.next() % 5)
            let rules = (0..<count).map { index in
                UpcastRule(
                    name: "r\(index)", type: types[Int(random.next() % 3)],
                    version: random.next() % 3 == 0 ? nil : Int64(1 + random.next() % 2),
                    steps: (0..<(1 + Int(random.next() % 4))).map { _ in step(&random) } + [exit(&random)])
            }
            let set = UpcastRuleSet(rules: rules)
            if (try? set.check()) != nil { return set }
        }
    }

    static func pointer(_ random: inout SplitMix) -> JSONPointer {
        try! JSONPointer(parsing: pointers[Int(random.next() % UInt64(pointers.count))])
    }

    static func step(_ random: inout SplitMix) -> UpcastStep {
        switch random.next() % 8 {
        case 0: return .move(from: pointer(&random), to: pointer(&random))
        case 1:
            return .defaultValue(
                at: pointer(&random), value: random.next() % 2 == 0 ? .number("7") : .object(["k": .string("v")]))
        case 2: return .remove(pointer(&random))
        case 3: return .toString(pointer(&random))
        case 4: return .toNumber(pointer(&random))
        case 5: return .wrap(key: "w")
        case 6: return .unwrap(pointer(&random))
        default: return .move(from: pointer(&random), to: pointer(&random))
        }
    }

    /// How a rule leaves its match: a new version, a new type, a split, or a drop.
    static func exit(_ random: inout SplitMix) -> UpcastStep {
        switch random.next() % 6 {
        case 0, 1: return .setVersion(Int64(2 + random.next() % 2))
        case 2, 3: return .renameType(types[1 + Int(random.next() % 3)])
        case 4:
            return .split([
                UpcastStep.SplitPart(type: "D", copies: [(try! JSONPointer(parsing: "/p"), pointer(&random))]),
                UpcastStep.SplitPart(type: "D", copies: [(try! JSONPointer(parsing: "/q/r"), pointer(&random))]),
            ])
        default: return .drop
        }
    }

    static func event(_ random: inout SplitMix, index: Int) -> String {
        func value() -> String {
            switch random.next() % 5 {
            case 0: return String(random.next() % 1000)
            case 1: return "\"\(random.next() % 100)\""
            case 2: return "\"t\(random.next() % 10)\""
            case 3: return #"{"x":\#(random.next() % 9),"y":"z"}"#
            default: return "null"
            }
        }
        var members: [String] = []
        for key in ["a", "b", "c", "n", "m", "s"] where random.next() % 3 != 0 {
            members.append("\"\(key)\":\(value())")
        }
        let version: String
        switch random.next() % 4 {
        case 0: version = ""
        case 1: version = #""schema_version":"2""#
        default: version = #""schema_version":\#(1 + random.next() % 3)"#
        }
        return #"{"position":\#(index + 1),"stream":"s-\#(index % 7)","version":1,"id":"id-\#(index)","#
            + #""type":"\#(types[Int(random.next() % 4)])","recorded_at":"2026-01-01T00:00:00.000000Z","#
            + #""data":{\#(members.joined(separator: ","))},"metadata":{\#(version)}}"#
    }
}

/// A small deterministic generator (SplitMix64), so each seed gives the same rules and events everywhere.
struct SplitMix {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE5_E4B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
