import Coordination
import Foundation
import Testing

@Suite struct AppendResultTests {
    /// Generated ids are version-4 UUIDs in lowercase text that Foundation parses back, and they differ.
    @Test func randomUUIDsAreVersionFourAndDistinct() {
        var seen = Set<String>()
        for _ in 0..<2_000 {
            let id = AppendValidation.randomUUID()
            let bytes = Array(id.utf8)
            #expect(bytes.count == 36)
            #expect(id == id.lowercased())
            #expect(UUID(uuidString: id)?.uuidString.lowercased() == id)
            #expect(bytes[14] == UInt8(ascii: "4"), "version nibble of \(id)")
            #expect([UInt8(ascii: "8"), UInt8(ascii: "9"), UInt8(ascii: "a"), UInt8(ascii: "b")].contains(bytes[19]))
            seen.insert(id)
        }
        #expect(seen.count == 2_000)
    }

    /// The hand-written decoder reads what Foundation's encoder writes, and refuses what is not a result array.
    @Test func decodesWhatTheEncoderWrites() throws {
        let results = [
            AppendResult(
                stream: #"acc-"42"\ü"#, firstVersion: 1, lastVersion: 3, firstPosition: 10, lastPosition: 12,
                eventIDs: [AppendValidation.randomUUID(), AppendValidation.randomUUID()], replayed: false),
            AppendResult(
                stream: "b", firstVersion: 9_007_199_254_740_993, lastVersion: 9_007_199_254_740_993,
                firstPosition: Int64.max, lastPosition: Int64.max, eventIDs: [], replayed: true),
        ]
        let text = String(decoding: try JSONEncoder().encode(results), as: UTF8.self)
        #expect(try AppendResult.decodeArray(json: text) == results)
        for bad in ["", "{}", "[1]", #"[{"stream":"a"}]"#, #"[{"stream":"a","firstVersion":1.5}]"#, "[" + text] {
            #expect(throws: CoordinationError.self) { try AppendResult.decodeArray(json: bad) }
        }
    }
}
