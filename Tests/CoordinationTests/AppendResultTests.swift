import Coordination
import Foundation
import Testing

@Suite struct AppendResultTests {
    /// The hand-written decoder reads what Foundation's encoder writes, and refuses what is not a result array.
    @Test func decodesWhatTheEncoderWrites() throws {
        let results = [
            AppendResult(
                stream: #"acc-"42"\ü"#, firstVersion: 1, lastVersion: 3, firstPosition: 10, lastPosition: 12,
                eventIDs: [UUIDv7.next(), UUIDv7.next()], replayed: false),
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
