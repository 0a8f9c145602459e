import Coordination
import CoordinationSQLite
import Foundation
import Testing

/// The flusher's packed read returns exactly what `readAll` does: same events, same bytes, same pages.
@Suite struct PackedEventsTests {
    @Test func packedReadEqualsReadAll() async throws {
        try await withStore { store, _ in
            let streams = ["account-1", #"quo"te-2"#, "back\\slash-3", "uni\u{e9}\u{1F600}-4", "semi;colon%-5"]
            let payloads = [
                #"{"amount":1}"#, #"{"s":"line\nbreak \u00e9 \\ \""}"#, #"{"n":[1,2,{"deep":null}],"big":1e308}"#,
                #"{"emoji":"\ud83d\ude00","empty":""}"#,
            ]
            for round in 0..<40 {
                let stream = streams[round % streams.count]
                let events = (0..<3).map { k in
                    ProposedEvent(
                        type: "T\(k)\u{e9}", data: payloads[(round + k) % payloads.count],
                        metadata: #"{"round":\#(round),"note":"\u0001"}"#)
                }
                _ = try await store.append(AppendRequest(stream: stream, events: events))
            }
            for (after, limit) in [(0, 1000), (0, 7), (17, 50), (119, 10), (120, 10)] {
                let all = try await store.readAll(after: Int64(after), limit: limit)
                let packed = try await store.readAllPacked(after: Int64(after), limit: limit)
                #expect(packed.count == all.count)
                #expect(packed.events() == all)
                // The default (what other stores get) packs readAll's events the same way.
                #expect(PackedEvents(all).events() == all)
            }
            #expect(try await store.readAllPacked(after: 120, limit: 10).isEmpty)
        }
    }
}
