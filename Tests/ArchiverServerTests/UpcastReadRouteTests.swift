import ArchiverCore
import ArchiverServer
import Foundation
import HTTPTypes
import HummingbirdTesting
import Testing

/// `?upcast=true` on the read routes: the events as the configured upcasters present them; stored positions
/// and versions stay the paging cursors.
@Suite struct UpcastReadRouteTests {
    static let rules = """
        rules:
          - name: opened-v2
            type: AccountOpened
            version: 1
            steps:
              - move: {from: /holder, to: /owner}
              - set-version: 2
          - name: split-address
            type: AddressChanged
            steps:
              - split:
                  - type: StreetChanged
                    copy: {/street: /address/street}
                  - type: CityChanged
                    copy: {/city: /address/city}
        """

    static func appendTwo(_ client: some TestClientProtocol) async throws {
        _ = try await client.append("account-1", #"{"type":"AccountOpened","data":{"holder":"Ada"}}"#)
        _ = try await client.append(
            "account-1", #"{"type":"AddressChanged","data":{"address":{"street":"Main 1","city":"Oslo"}}}"#)
    }

    @Test func pagesAndEventStreamsPresentTheUpcastView() async throws {
        let upcaster = Upcaster(try UpcastRuleSet(yaml: Self.rules, source: "rules.yaml"))
        try await withAPI(upcaster: upcaster) { _, client in
            try await Self.appendTwo(client)
            let plain = try await client.get("/streams/account-1")
            #expect(plain.text.contains(#""data":{"holder":"Ada"}"#), "\(plain.text)")

            let stream = try await client.get("/streams/account-1?upcast=true")
            #expect(stream.status == .ok)
            #expect(
                stream.text.contains(#""type":"AccountOpened""#) && stream.text.contains(#""data":{"owner":"Ada"}"#))
            #expect(stream.text.contains(#""metadata":{"schema_version":2}"#), "\(stream.text)")
            #expect(
                stream.text.contains(#""type":"StreetChanged""#) && stream.text.contains(#""data":{"city":"Oslo"}"#))
            #expect((stream.object["events"] as? [Any])?.count == 3)
            #expect(stream.object["next_version"] as? Int == 3, "the cursor is the stored version")

            let page = try await client.get("/events?after=0&upcast=true")
            #expect((page.object["events"] as? [Any])?.count == 3)
            #expect(page.object["last_position"] as? Int == 2, "the cursor is the stored position")

            let sse = try await client.get(
                "/events?after=0&limit=2&upcast=true", headers: [.accept: "text/event-stream"])
            let blocks = sse.text.components(separatedBy: "\n\n").filter { !$0.isEmpty }
            #expect(blocks.count == 3, "\(sse.text)")
            #expect(
                blocks.map { $0.split(separator: "\n").prefix(2).joined(separator: " ") } == [
                    "id: 1 event: AccountOpened", "id: 2 event: StreetChanged", "id: 2 event: CityChanged",
                ])
        }
    }

    @Test func upcastWithoutRulesOrWithABadValueIsRefused() async throws {
        try await withAPI { _, client in
            try await Self.appendTwo(client)
            let missing = try await client.get("/events?after=0&upcast=true")
            #expect(missing.status == .unprocessableContent)
            #expect(missing.object["error"] as? String == "no-upcasters", "\(missing.text)")
            let bad = try await client.get("/streams/account-1?upcast=yes")
            #expect(bad.status == .unprocessableContent)
            #expect((bad.object["message"] as? String)?.contains("upcast must be true or false") == true)
        }
    }
}
