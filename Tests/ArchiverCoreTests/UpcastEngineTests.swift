import ArchiverCore
import Foundation
import RawJSON
import Testing

@Suite struct UpcastEngineTests {
    let upcaster: Upcaster

    init() throws {
        upcaster = Upcaster(try UpcastRuleSet(yaml: workedExampleYAML, source: "example"))
    }

    func upcast(_ line: String) throws -> [String] {
        var bytes = Array(line.utf8)
        return try bytes.withUnsafeMutableBytes { try upcaster.upcast(rendered: UnsafeRawBufferPointer($0)) }
            .map { String(decoding: $0, as: UTF8.self) }
    }

    @Test func accountOpenedV1BecomesV2() throws {
        let v1 =
            #"{"position":1,"stream":"account-1","version":1,"id":"e1","type":"AccountOpened","#
            + #""recorded_at":"2026-01-01T00:00:00.000000Z","data":{"holder":"Ada","x":{"b":2, "a":1}},"metadata":{}}"#
        #expect(
            try upcast(v1) == [
                #"{"position":1,"stream":"account-1","version":1,"id":"e1","type":"AccountOpened","#
                    + #""recorded_at":"2026-01-01T00:00:00.000000Z","data":{"currency":"EUR","owner":"Ada","x":{"a":1,"b":2}},"#
                    + #""metadata":{"schema_version":2}}"#
            ])
        // Already v2: no rule matches, so the bytes come back as they were (spacing included).
        let v2 = #"{"type":"AccountOpened","data":{"owner":"Bo", "currency":"SEK"},"metadata":{"schema_version":2}}"#
        #expect(try upcast(v2) == [v2])
        // A currency present is kept.
        let withCurrency = #"{"type":"AccountOpened","id":"e","data":{"holder":"Cy","currency":"SEK"}}"#
        #expect(
            try upcast(withCurrency) == [
                #"{"type":"AccountOpened","id":"e","data":{"currency":"SEK","owner":"Cy"},"metadata":{"schema_version":2}}"#
            ])
    }

    @Test func addressChangedSplitsInTwoWithDerivedIDs() throws {
        let line =
            #"{"id":"a-1","type":"AddressChanged","data":{"address":{"street":"Main 1","city":"Oslo"}},"#
            + #""metadata":{"by":"u"}}"#
        let out = try upcast(line)
        #expect(
            out == [
                #"{"id":"\#(SplitID.derive(from: "a-1", index: 0))","type":"StreetChanged","data":{"street":"Main 1"},"#
                    + #""metadata":{"by":"u"}}"#,
                #"{"id":"\#(SplitID.derive(from: "a-1", index: 1))","type":"CityChanged","data":{"city":"Oslo"},"#
                    + #""metadata":{"by":"u"}}"#,
            ])
        #expect(try upcast(line) == out)
    }

    @Test func otherTypesPassThroughUntouched() throws {
        let line = #"{"type":"Deposited","data":{"amount": 5}}"#
        #expect(try upcast(line) == [line])
    }

    @Test func conversionsWrapUnwrapAndDrop() throws {
        let rules = UpcastRuleSet(rules: [
            UpcastRule(
                name: "convert", type: "T", version: 1,
                steps: [
                    .toString(try JSONPointer(parsing: "/n")), .toNumber(try JSONPointer(parsing: "/s")),
                    .toNumber(try JSONPointer(parsing: "/bad")), .wrap(key: "payload"), .setVersion(2),
                ]),
            UpcastRule(
                name: "unwrap", type: "T", version: 2,
                steps: [.unwrap(try JSONPointer(parsing: "/payload")), .renameType("U")]),
            UpcastRule(name: "drop", type: "Gone", steps: [.drop]),
        ])
        try rules.check()
        let upcaster = Upcaster(rules)
        let out = try upcaster.apply(
            UpcastEvent(
                id: "i", type: "T", data: try JSONValue.parse(#"{"n":12.50,"s":"-3e2","bad":" 4"}"#),
                metadata: .object([:])))
        #expect(out?.map(\.data.serializedString) == [#"{"bad":" 4","n":"12.50","s":-3e2}"#])
        #expect(out?.map(\.type) == ["U"])
        #expect(try upcaster.apply(UpcastEvent(id: "g", type: "Gone", data: .null, metadata: .null)) == [])
        #expect(try upcaster.apply(UpcastEvent(id: "o", type: "Other", data: .null, metadata: .null)) == nil)
    }
}
