import Coordination
import CoordinationSQLite
import Foundation
import Testing

@testable import CoordinationPostgres

/// The subject-key contract (crypto-shredding), run against both stores.
func checkSubjectKeys(_ store: any CoordinationStore) async throws {
    #expect(try await store.subjectKey("alice", create: false) == nil)
    guard case .active(let key)? = try await store.subjectKey("alice", create: true) else {
        Issue.record("no key was created")
        return
    }
    #expect(key.count == 32)
    // The same key every time, and a different one per subject.
    #expect(try await store.subjectKey("alice", create: true) == .active(key))
    #expect(try await store.subjectKey("alice", create: false) == .active(key))
    guard case .active(let bobKey)? = try await store.subjectKey("bob", create: true) else {
        Issue.record("no key for bob")
        return
    }
    #expect(bobKey != key)

    let metadata = { (subject: String) in "{\"subject\":\"\(subject)\",\"actor\":\"x\"}" }
    _ = try await store.append(
        AppendRequest(
            stream: "customer-a",
            events: [
                ProposedEvent(type: "Moved", data: #"{"street":"a1"}"#, metadata: metadata("alice")),
                ProposedEvent(type: "Moved", data: #"{"street":"b1"}"#, metadata: metadata("bob")),
                ProposedEvent(type: "Moved", data: #"{"street":"n"}"#, metadata: #"{"subject":1}"#),
            ]))
    let forgotten = try await store.forgetSubject(
        "alice", metadataField: "subject", redactedData: #"{"$redacted":true}"#)
    #expect(forgotten == ForgetResult(destroyedKey: true, redactedHotEvents: 1))
    // Reads stop at the safe mark; on PostgreSQL another test's open transaction can hold it back for a while.
    #expect(try await settledMark(store, atLeast: 3) >= 3)
    let events = try await store.readAll(after: 0, limit: 10)
    #expect(events.map(\.data) == [#"{"$redacted":true}"#, #"{"street":"b1"}"#, #"{"street":"n"}"#])
    // The key is gone for good: creating again does not bring a new one.
    guard case .forgotten? = try await store.subjectKey("alice", create: true) else {
        Issue.record("alice's key came back")
        return
    }
    let all = try await store.subjectKeys()
    #expect(all["bob"] == .active(bobKey))
    if case .forgotten? = all["alice"] {
    } else {
        Issue.record("alice is not a tombstone: \(String(describing: all["alice"]))")
    }
    // Forgetting again, or a subject never seen, leaves a tombstone and destroys nothing.
    #expect(
        try await store.forgetSubject("alice", metadataField: "subject", redactedData: "{}")
            == ForgetResult(destroyedKey: false, redactedHotEvents: 1))
    #expect(
        try await store.forgetSubject("carol", metadataField: nil, redactedData: "{}")
            == ForgetResult(destroyedKey: false, redactedHotEvents: 0))
    if case .forgotten? = try await store.subjectKey("carol", create: true) {} else { Issue.record("carol got a key") }

    // A pending flush intent: forget must wait for it.
    let lease = try #require(try await store.acquireLease("flusher", holder: "test/1", ttlSeconds: 60))
    let intent = FlushIntent(
        snapshotID: "s1", firstPosition: 1, lastPosition: 3, eventCount: 3, chainStart: "", chainHead: "00",
        parentSnapshotID: "", cutName: nil, fencingToken: lease.fencingToken)
    try await store.recordFlushIntent(intent)
    await #expect(throws: CoordinationError.self) {
        try await store.forgetSubject("bob", metadataField: "subject", redactedData: "{}")
    }
    #expect(try await store.subjectKey("bob", create: false) == .active(bobKey))
}

@Suite struct SubjectKeyTests {
    @Test(arguments: Backend.available)
    func keysAreKeptAndForgotten(backend: Backend) async throws {
        try await withBackend(backend) { store, _ in try await checkSubjectKeys(store) }
    }
}

/// The store's and the table sink's array literals, read back by PostgreSQL itself (the reference parser), on hostile text.
@Suite(.enabled(if: TestServices.postgresURL != nil, "ARCHIVER_TEST_POSTGRES_URL is not set"))
struct PostgresArrayLiteralTests {
    @Test func hostileElementsRoundTrip() async throws {
        try await withPostgres { fixture in
            var elements = ["", "NULL", "null", "a,b", "{x}", "\"q\"", "back\\slash", "\\\"", " spaced ", "é😀", "\n\t"]
            var state: UInt64 = 5
            let alphabet = Array("ab\\\",{} NULé\n".unicodeScalars)
            for _ in 0..<200 {
                var s = String.UnicodeScalarView()
                state = state &* 6_364_136_223_846_793_005 &+ 1
                for _ in 0..<(state >> 60) {
                    state = state &* 6_364_136_223_846_793_005 &+ 1
                    s.append(alphabet[Int(state >> 33) % alphabet.count])
                }
                elements.append(String(s))
            }
            let db = try fixture.rawConnection()
            let rows = try db.query(
                "SELECT u FROM unnest($1::text[]) WITH ORDINALITY AS t(u, n) ORDER BY n",
                [PostgresCoordinationStore.arrayLiteral(elements)])
            #expect((0..<rows.count).map { rows.string($0, 0) } == elements)
        }
    }
}
