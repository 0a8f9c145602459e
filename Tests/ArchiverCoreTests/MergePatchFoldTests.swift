import Foundation
import RawJSON
import TestSupport
import Testing

@testable import ArchiverCore

/// The fold as it was before it merged over bytes: a `JSONValue` tree per event. Kept as the oracle.
struct TreeMergePatchFold {
    var aggregates: [String: (version: Int64, position: Int64, state: JSONValue?)] = [:]

    mutating func apply(stream: String, version: Int64, position: Int64, data: String) throws {
        let patch = try JSONValue.parse(data)
        let state = JSONValue.mergePatch(target: aggregates[stream]?.state, patch: patch)
        aggregates[stream] = (version, position, state)
    }

    func rows() -> [ProjectedRow] {
        aggregates.keys.sorted().map { stream in
            let a = aggregates[stream]!
            var out: [UInt8] = []
            out.append(contentsOf: #"{"stream":"#.utf8)
            RawJSON.appendQuoted(stream, to: &out)
            out.append(contentsOf: #","version":\#(a.version),"position":\#(a.position),"state":"#.utf8)
            out.append(contentsOf: (a.state ?? .null).serialize())
            out.append(UInt8(ascii: "}"))
            return ProjectedRow(key: stream, json: String(decoding: out, as: UTF8.self))
        }
    }
}

extension MergePatchFold {
    mutating func apply(stream: String, position: Int64, _ data: String) throws {
        var data = data
        try data.withUTF8 {
            try apply(stream: stream, version: position, position: position, data: UnsafeRawBufferPointer($0))
        }
    }

    func state(of stream: String) throws -> String? {
        try rows().first { $0.key == stream }.map { try #require(JSONValue.parse($0.json)["state"]).serializedString }
    }
}

@Suite struct MergePatchFoldTests {
    /// Events and expected states from the Python RFC 7386 reference (Tests/ArchiverCLITests/Fixtures).
    static func reference(
        seed: Int, events: Int, streams: Int
    ) async throws -> (
        events: [(stream: String, raw: String)], expected: [String: String]
    ) {
        let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("ArchiverCLITests/Fixtures/merge_patch_reference.py")
        let output = try await runPython([script.path, "\(seed)", "\(events)", "\(streams)"])
        var list: [(String, String)] = []
        var expected: [String: String] = [:]
        for line in String(decoding: output, as: UTF8.self).split(separator: "\n") {
            let value = try JSONValue.parse(String(line))
            let stream = try #require(value["stream"]?.string)
            if let raw = value["raw"]?.string { list.append((stream, raw)) }
            if let state = value["expected"]?.string { expected[stream] = state }
        }
        return (list, expected)
    }

    @Test(arguments: [1, 2, 3, 4, 5])
    func matchesTheRFC7386ReferenceAndTheTreeFold(seed: Int) async throws {
        let (events, expected) = try await Self.reference(seed: seed, events: 3_000, streams: 7)
        var fold = MergePatchFold()
        fold.states.minimumGarbage = 0  // compact whenever garbage outweighs live states
        var oracle = TreeMergePatchFold()
        for (index, event) in events.enumerated() {
            try fold.apply(stream: event.stream, position: Int64(index + 1), event.raw)
            try oracle.apply(
                stream: event.stream, version: Int64(index + 1), position: Int64(index + 1), data: event.raw)
        }
        let rows = try fold.rows()
        #expect(rows == oracle.rows())
        #expect(rows.count == expected.count)
        for row in rows {
            let state = try #require(JSONValue.parse(row.json)["state"]).serializedString
            #expect(
                row.json.hasSuffix(#","state":\#(try #require(expected[row.key]))}"#), "stream \(row.key): \(state)")
        }
    }

    /// Applies `events` to the fold and the tree oracle on stream "s"; returns the fold's state.
    static func foldAndOracle(_ events: [String]) throws -> String? {
        var fold = MergePatchFold()
        var oracle = TreeMergePatchFold()
        for (index, event) in events.enumerated() {
            try fold.apply(stream: "s", position: Int64(index + 1), event)
            try oracle.apply(stream: "s", version: Int64(index + 1), position: Int64(index + 1), data: event)
        }
        #expect(try fold.rows() == oracle.rows())
        return try fold.state(of: "s")
    }

    @Test func keysThatShareTheirFirstEightBytesSortByTheRest() throws {
        // Keys are compared by an 8-byte prefix first: equal prefixes, NUL bytes and padding must not reorder.
        let state = try Self.foldAndOracle([
            #"{"abcdefghZ":1,"abcdefgh":2,"a\u0000":3,"abcdefghA":4,"a":5,"abcdefg\u0000":6,"abcdefg":7}"#,
            #"{"abcdefghA":null,"\u0061bcdefghZ":8,"a":{"z":1,"y":2},"a\u0000b":9}"#,
        ])
        #expect(
            state
                == #"{"a":{"y":2,"z":1},"a\u0000":3,"a\u0000b":9,"abcdefg":7,"abcdefg\u0000":6,"abcdefgh":2,"abcdefghZ":8}"#
        )
    }

    @Test func replacedArraysAndStringsAreCanonicalOnlyInTheRowButMergeAsValues() throws {
        // Arrays and strings with escapes are kept as written until the row is written (DeferredValue).
        let state = try Self.foldAndOracle([
            #"{"l": [ {"b":1, "a":2} , "\u00e9\/" ], "s":"a\/b", "o":{"t":"x\u0041", "k":[ 1 ]}, "n":"plain"}"#,
            #"{"l":{"x":1,"n":null}, "o":{"k":{"j":[ 2 ]}}}"#,
            #"{"s":{"q":"\u00e9"}, "o":{"u":[{"d":null, "c":1}]}}"#,
        ])
        #expect(
            state == #"{"l":{"x":1},"n":"plain","o":{"k":{"j":[2]},"t":"xA","u":[{"c":1,"d":null}]},"s":{"q":"é"}}"#)
        let whole = try Self.foldAndOracle([#"{"a":1}"#, #" [ {"b":1,"a":null} , "\/" ] "#])
        #expect(whole == #"[{"a":null,"b":1},"/"]"#)
        #expect(try Self.foldAndOracle([#"[1]"#, #"{"a":[ 2 ],"b":null}"#]) == #"{"a":[2]}"#)
        #expect(try Self.foldAndOracle([#""\u0041""#]) == #""A""#)
    }

    @Test func duplicateKeysKeepTheLastValueWhole() throws {
        var fold = MergePatchFold()
        try fold.apply(stream: "s", position: 1, #"{"a":{"z":0},"b":5}"#)
        try fold.apply(stream: "s", position: 2, #"{"a":{"x":1},"a":{"y":2},"b":{"k":1},"b":3,"\u0062":7}"#)
        #expect(try fold.state(of: "s") == #"{"a":{"y":2,"z":0},"b":7}"#)
    }

    @Test func escapesAreWrittenAsTheTreeFoldWroteThem() throws {
        var fold = MergePatchFold()
        try fold.apply(
            stream: "s", position: 1, #"{"p":"a\/b","u":"\u00e9\ud83d\ude00","c":"\u001f\u0008","q":"x\"y\n"}"#)
        #expect(try fold.rows()[0].json.hasSuffix(#""state":{"c":"\u001f\b","p":"a/b","q":"x\"y\n","u":"é😀"}}"#))
    }

    @Test func nullsDeleteInObjectsButStayInArraysAndPatchesThatAreNotObjectsReplace() throws {
        var fold = MergePatchFold()
        try fold.apply(stream: "s", position: 1, #"{"a":1,"b":[{"n":null}],"c":{"d":null,"e":{"f":null}}}"#)
        #expect(try fold.state(of: "s") == #"{"a":1,"b":[{"n":null}],"c":{"e":{}}}"#)
        try fold.apply(stream: "s", position: 2, #"{"a":null,"c":7}"#)
        #expect(try fold.state(of: "s") == #"{"b":[{"n":null}],"c":7}"#)
        try fold.apply(stream: "s", position: 3, #" [ 1 , {"b":1,"a":2} ] "#)
        #expect(try fold.state(of: "s") == #"[1,{"a":2,"b":1}]"#)
        try fold.apply(stream: "s", position: 4, #"{"x":-0.0E+5}"#)
        #expect(try fold.state(of: "s") == #"{"x":-0.0E+5}"#)
    }

    @Test func restoredRowsContinueAsIfNeverSaved() async throws {
        let (events, _) = try await Self.reference(seed: 9, events: 600, streams: 5)
        var whole = MergePatchFold()
        var resumed = MergePatchFold()
        for (index, event) in events.enumerated() {
            try whole.apply(stream: event.stream, position: Int64(index + 1), event.raw)
            if index == 299 {
                var restored = MergePatchFold()
                try restored.restore(rows: try resumed.rows())
                #expect(try restored.rows() == resumed.rows())
                resumed = restored
            }
            try resumed.apply(stream: event.stream, position: Int64(index + 1), event.raw)
        }
        #expect(try resumed.rows() == whole.rows())
    }

    @Test func invalidDataFailsTheFoldAndLeavesTheStateAlone() throws {
        var fold = MergePatchFold()
        try fold.apply(stream: "s", position: 1, #"{"a":1}"#)
        #expect(throws: RawJSONError.self) { try fold.apply(stream: "s", position: 2, #"{"a":}"#) }
        #expect(try fold.state(of: "s") == #"{"a":1}"#)
        #expect(throws: ArchiverError.self) {
            try fold.restore(rows: [ProjectedRow(key: "k", json: #"{"stream":"s","version":1}"#)])
        }
    }

    @Test func manyStreamsWithOneEventEachKeepTheirOwnState() throws {
        var fold = MergePatchFold()
        fold.states.minimumGarbage = 0
        for i in 0..<5_000 {
            try fold.apply(stream: "account-\(i)", position: Int64(i + 1), #"{"n":\#(i),"tags":["t\#(i % 7)"]}"#)
        }
        for i in stride(from: 0, to: 5_000, by: 3) {
            try fold.apply(stream: "account-\(i)", position: Int64(10_000 + i), #"{"tags":null,"m":{"k":"\#(i)"}}"#)
        }
        let rows = try fold.rows()
        #expect(rows.count == 5_000)
        let byKey = Dictionary(uniqueKeysWithValues: rows.map { ($0.key, $0.json) })
        #expect(byKey["account-3"]!.hasSuffix(#""state":{"m":{"k":"3"},"n":3}}"#))
        #expect(byKey["account-4"]!.hasSuffix(#""state":{"n":4,"tags":["t4"]}}"#))
    }
}
