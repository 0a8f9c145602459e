import Coordination
import Foundation
import Testing

/// Bad input is refused the same way by every backend, before it reaches the database.
extension StoreContractTests {
    @Test(arguments: Backend.available)
    func badInputIsRefusedAndLeavesTheStoreUnchanged(backend: Backend) async throws {
        try await withBackend(backend) { store, _ in
            _ = try await store.append(AppendRequest(stream: "ok-1", events: [event()]))
            let huge = "{\"x\":\"" + String(repeating: "a", count: 1 << 20) + "\"}"
            let cases: [(AppendRequest, CoordinationError.Code)] = [
                (AppendRequest(stream: "ok-1", events: [event("T", "{not json")]), .invalidInput),
                (AppendRequest(stream: "ok-1", events: [event("T", #"{"a":1}"#), event("T", "[1,]")]), .invalidInput),
                (
                    AppendRequest(stream: "ok-1", events: [ProposedEvent(type: "T", data: "{}", metadata: "[]")]),
                    .invalidInput
                ),
                (AppendRequest(stream: "", events: [event()]), .invalidInput),
                (AppendRequest(stream: String(repeating: "s", count: 201), events: [event()]), .invalidInput),
                (AppendRequest(stream: "ok-1", events: []), .invalidInput),
                (AppendRequest(stream: "ok-1", events: [event("", "{}")]), .invalidInput),
                (AppendRequest(stream: "ok-1", events: [event("T", huge)]), .eventTooLarge),
                (AppendRequest(stream: "ok-1", events: [event("T", "{}", id: "not-a-uuid")]), .invalidInput),
                (AppendRequest(stream: "ok-1", expected: .exact(0), events: [event()]), .invalidInput),
                (AppendRequest(stream: "ok\u{1}", events: [event()]), .invalidInput),
                (AppendRequest(stream: "ok\u{7F}", events: [event()]), .invalidInput),
                (AppendRequest(stream: "ok-1", idempotencyKey: "", events: [event()]), .invalidInput),
            ]
            for (request, code) in cases {
                do {
                    _ = try await store.append(request)
                    Issue.record("accepted bad input for stream \(request.stream.prefix(20))")
                } catch let error as CoordinationError {
                    #expect(error.code == code, "\(error.message)")
                    #expect(!error.message.contains("aaaa"), "payloads stay out of error messages")
                }
            }
            let status = try await store.status()
            #expect(status.eventCount == 1 && status.headPosition == 1 && status.streamCount == 1)
        }
    }

    /// An empty idempotency key is refused by both backends with one message, on `append` and on the key
    /// of `appendMultiple` (SQLite used to accept the latter).
    @Test(arguments: Backend.available)
    func emptyIdempotencyKeyIsRefused(backend: Backend) async throws {
        try await withBackend(backend) { store, _ in
            var messages: [String] = []
            for call in 0..<3 {
                do {
                    let request = AppendRequest(stream: "k-1", idempotencyKey: call == 0 ? "" : nil, events: [event()])
                    switch call {
                    case 0: _ = try await store.append(request)
                    case 1: _ = try await store.appendMultiple([request], idempotencyKey: "")
                    default: _ = try await store.appendMultiple([request, request], idempotencyKey: "")
                    }
                    Issue.record("call \(call) accepted an empty idempotency key")
                } catch let error as CoordinationError {
                    #expect(error.code == .invalidInput)
                    messages.append(error.message)
                }
            }
            #expect(Set(messages) == ["idempotency key must be 1 to 255 bytes (got 0): send a non-empty key, or none"])
            #expect(try await store.status().eventCount == 0)
        }
    }

    /// Stream names are at most 200 bytes of UTF-8 (a longer category made every flush fail): 200 ASCII bytes
    /// or 66 three-byte CJK characters pass; one byte more is refused with a message naming both numbers.
    @Test(arguments: Backend.available)
    func streamNamesAreLimitedTo200Bytes(backend: Backend) async throws {
        try await withBackend(backend) { store, _ in
            let longest = [String(repeating: "s", count: 200), String(repeating: "漢", count: 66)]
            for name in longest {
                _ = try await store.append(AppendRequest(stream: name, events: [event()]))
                #expect(try await store.streamHead(name)?.version == 1)
            }
            for (name, length) in [(String(repeating: "s", count: 201), 201), (String(repeating: "漢", count: 67), 201)]
            {
                do {
                    _ = try await store.append(AppendRequest(stream: name, events: [event()]))
                    Issue.record("a \(length)-byte stream name was accepted")
                } catch let error as CoordinationError {
                    #expect(error.code == .invalidInput)
                    #expect(error.message.contains("is \(length) bytes of UTF-8; the limit is 200 bytes"))
                }
            }
            #expect(try await store.status().eventCount == 2)
        }
    }

    @Test(arguments: Backend.available)
    func migrationsAreRecordedOnce(backend: Backend) async throws {
        try await withBackend(backend) { store, _ in
            let again = try await store.migrate()
            #expect(!again.isEmpty && again.allSatisfy { !$0.appliedNow })
            #expect(again.map(\.version) == Array(1...again.count))
        }
    }

    @Test(arguments: Backend.available)
    func aClosedStoreRefusesCalls(backend: Backend) async throws {
        try await withBackend(backend) { _, fixture in
            let store = try await fixture.open()
            await store.close()
            #expect(await coordinationErrorCode { _ = try await store.streamHead("a-1") } == .closed)
            let append = await coordinationErrorCode {
                _ = try await store.append(AppendRequest(stream: "a-1", events: [event()]))
            }
            #expect(append == .closed)
        }
    }
}
