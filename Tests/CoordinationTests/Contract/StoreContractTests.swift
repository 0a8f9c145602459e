import Coordination
import Foundation
import Testing

/// The behaviour every coordination store shares, run against each backend (`Backend.available`: SQLite,
/// and PostgreSQL when `ARCHIVER_TEST_POSTGRES_URL` is set). Backend-specific behaviour (PostgreSQL's safe
/// high-water mark under concurrent transactions, NOTIFY, migration tampering) is tested in the backend files.
///
/// Serialized: PostgreSQL's safe high-water mark waits for every write transaction of the server, so
/// concurrent tests would hold back each other's reads.
@Suite(.serialized) struct StoreContractTests {
    /// Shows as skipped when no PostgreSQL is configured, so a run without it is visibly partial.
    @Test(.enabled(if: TestServices.postgresURL != nil, "ARCHIVER_TEST_POSTGRES_URL is not set"))
    func postgresIsAvailable() async throws {
        #expect(Backend.available.contains(.postgres))
        try await withBackend(.postgres) { store, _ in
            let records = try await store.migrate()
            #expect(!records.isEmpty && records.allSatisfy { !$0.appliedNow })
        }
    }

    @Test(arguments: Backend.available)
    func appendAssignsVersionsAndPositions(backend: Backend) async throws {
        try await withBackend(backend) { store, _ in
            let a = try await store.append(
                AppendRequest(stream: "a-1", expected: .noStream, events: [event(), event()]))
            let b = try await store.append(AppendRequest(stream: "b-1", events: [event()]))
            let c = try await store.append(AppendRequest(stream: "a-1", expected: .exact(2), events: [event()]))
            #expect((a.firstVersion, a.lastVersion, a.firstPosition, a.lastPosition) == (1, 2, 1, 2))
            #expect((b.firstVersion, b.firstPosition) == (1, 3))
            #expect((c.firstVersion, c.lastPosition) == (3, 4))
            #expect(!a.replayed && a.eventIDs.count == 2)
            let all = try await store.readAll(after: 0, limit: 100)
            #expect(all.map(\.position) == [1, 2, 3, 4])
            #expect(all.map(\.stream) == ["a-1", "a-1", "b-1", "a-1"])
            #expect(all.map(\.id) == a.eventIDs + b.eventIDs + c.eventIDs)
            #expect(try await settledMark(store, atLeast: 4) == 4)
            #expect(try await store.readAll(after: 2, limit: 1).map(\.position) == [3])
            #expect(try await store.readStream("a-1", fromVersion: 2, limit: 10).map(\.version) == [2, 3])
            #expect(try await store.streamHead("a-1") == StreamHead(stream: "a-1", version: 3, lastPosition: 4))
            #expect(try await store.streamHead("nope") == nil)
            #expect(try await store.streams(after: nil, limit: 10).map(\.stream) == ["a-1", "b-1"])
            #expect(try await store.streams(after: "a-1", limit: 10).map(\.stream) == ["b-1"])
            let status = try await store.status()
            #expect(status.headPosition == 4 && status.eventCount == 4 && status.streamCount == 2)
            #expect(status.unflushedCount == 4 && status.flushCursor == 0)
            #expect(try await store.flushLag() == FlushLag(flushCursor: 0, unflushedCount: 4, prunedThrough: 0))
        }
    }

    @Test(
        arguments: Backend.available,
        [
            (ExpectedVersion.noStream, Int64(0), true), (.noStream, 2, false), (.streamExists, 0, false),
            (.streamExists, 2, true), (.exact(2), 2, true), (.exact(1), 2, false), (.exact(3), 2, false),
            (.any, 0, true), (.any, 2, true),
        ])
    func expectedVersions(backend: Backend, expectation: (ExpectedVersion, Int64, Bool)) async throws {
        let (expected, existing, succeeds) = expectation
        try await withBackend(backend) { store, _ in
            if existing > 0 {
                _ = try await store.append(AppendRequest(stream: "s-1", events: (0..<existing).map { _ in event() }))
            }
            do {
                _ = try await store.append(AppendRequest(stream: "s-1", expected: expected, events: [event()]))
                #expect(succeeds)
            } catch let error as CoordinationError {
                #expect(!succeeds)
                #expect(error.code == .wrongExpectedVersion)
                #expect(error.actualVersion == existing && error.stream == "s-1")
            }
            #expect(try await store.streamHead("s-1")?.version ?? 0 == existing + (succeeds ? 1 : 0))
            #expect(try await store.status().eventCount == existing + (succeeds ? 1 : 0))
        }
    }

    /// 16 writers on 16 store instances (connections) race for one stream with exact expectations.
    @Test(arguments: Backend.available)
    func concurrentWritersWriteEachVersionOnce(backend: Backend) async throws {
        try await withBackend(backend) { store, fixture in
            let rounds = 10
            let outcomes = try await withThrowingTaskGroup(of: (wins: Int, conflicts: Int).self) { group in
                for writer in 0..<16 {
                    group.addTask { try await Self.race(fixture, writer: writer, rounds: rounds) }
                }
                return try await group.reduce(into: [(Int, Int)]()) { $0.append(($1.wins, $1.conflicts)) }
            }
            let events = try await store.readStream("race-1", fromVersion: 1, limit: 1_000)
            let wins = outcomes.map(\.0).reduce(0, +)
            #expect(events.map(\.version) == Array(1...Int64(wins)))
            #expect(outcomes.map { $0.0 + $0.1 }.allSatisfy { $0 == rounds })
            #expect(outcomes.map(\.1).reduce(0, +) > 0, "16 racing writers should produce conflicts")
        }
    }

    private static func race(_ fixture: BackendFixture, writer: Int, rounds: Int) async throws -> (Int, Int) {
        let store = try await fixture.open()
        var (wins, conflicts) = (0, 0)
        for _ in 0..<rounds {
            let head = try await store.streamHead("race-1")?.version ?? 0
            do {
                _ = try await store.append(
                    AppendRequest(
                        stream: "race-1", expected: head == 0 ? .noStream : .exact(head),
                        events: [event("W", #"{"writer":\#(writer)}"#)]))
                wins += 1
            } catch let error as CoordinationError where error.code == .wrongExpectedVersion {
                #expect(error.actualVersion! > head, "a conflict reports the newer actual version")
                conflicts += 1
            }
        }
        await store.close()
        return (wins, conflicts)
    }

    /// 16 retries of one idempotent append, on 16 store instances: one write, one result.
    @Test(arguments: Backend.available)
    func concurrentIdempotentRetriesWriteOnce(backend: Backend) async throws {
        try await withBackend(backend) { store, fixture in
            let request = AppendRequest(
                stream: "pay-1", expected: .any, idempotencyKey: "payment-7",
                events: [event("Paid", #"{"amount":42}"#), event("Receipt", #"{"n":1}"#)])
            let results = try await withThrowingTaskGroup(of: AppendResult.self) { group in
                for _ in 0..<16 {
                    group.addTask {
                        let other = try await fixture.open()
                        let result = try await other.append(request)
                        await other.close()
                        return result
                    }
                }
                return try await group.reduce(into: [AppendResult]()) { $0.append($1) }
            }
            #expect(results.filter { !$0.replayed }.count == 1)
            let first = try #require(results.first { !$0.replayed })
            #expect(results.allSatisfy { $0.eventIDs == first.eventIDs && $0.lastPosition == first.lastPosition })
            let again = try await store.append(request)
            #expect(again.replayed && again.eventIDs == first.eventIDs)
            var different = request
            different.events[0].data = #"{"amount":43}"#
            #expect(await coordinationErrorCode { _ = try await store.append(different) } == .idempotencyConflict)
            #expect(try await store.readAll(after: 0, limit: 100).count == 2)
        }
    }

    @Test(arguments: Backend.available)
    func appendMultipleIsAtomicAndIdempotent(backend: Backend) async throws {
        try await withBackend(backend) { store, _ in
            let requests = [
                AppendRequest(stream: "m-1", expected: .noStream, events: [event()]),
                AppendRequest(stream: "m-2", expected: .noStream, events: [event(), event()]),
            ]
            let results = try await store.appendMultiple(requests, idempotencyKey: "multi-1")
            #expect(results.map(\.stream) == ["m-1", "m-2"] && results.allSatisfy { !$0.replayed })
            let replayed = try await store.appendMultiple(requests, idempotencyKey: "multi-1")
            #expect(replayed.allSatisfy(\.replayed) && replayed.map(\.eventIDs) == results.map(\.eventIDs))
            let reversed = await coordinationErrorCode {
                _ = try await store.appendMultiple(Array(requests.reversed()), idempotencyKey: "multi-1")
            }
            #expect(reversed == .idempotencyConflict)
            // The second expectation fails: nothing of the call is written.
            let failing = [
                AppendRequest(stream: "m-3", expected: .noStream, events: [event()]),
                AppendRequest(stream: "m-1", expected: .noStream, events: [event()]),
            ]
            do {
                _ = try await store.appendMultiple(failing, idempotencyKey: nil)
                Issue.record("a failing expectation was accepted")
            } catch let error as CoordinationError {
                #expect(error.code == .wrongExpectedVersion && error.actualVersion == 1 && error.stream == "m-1")
            }
            #expect(try await store.streamHead("m-3") == nil)
            #expect(try await store.status().eventCount == 3)
        }
    }

    /// A stream in two requests of one call: the second is checked against the version the first left.
    @Test(arguments: Backend.available)
    func appendMultipleChecksARepeatedStreamInOrder(backend: Backend) async throws {
        try await withBackend(backend) { store, _ in
            let results = try await store.appendMultiple(
                [
                    AppendRequest(stream: "r-1", expected: .noStream, events: [event()]),
                    AppendRequest(stream: "r-2", expected: .any, events: [event(), event()]),
                    AppendRequest(stream: "r-1", expected: .exact(1), events: [event(), event()]),
                ], idempotencyKey: nil)
            #expect(results.map(\.firstVersion) == [1, 1, 2] && results.map(\.lastVersion) == [1, 2, 3])
            #expect(results.map(\.firstPosition) == [1, 2, 4] && results.map(\.lastPosition) == [1, 3, 5])
            let stale = await coordinationErrorCode {
                _ = try await store.appendMultiple(
                    [
                        AppendRequest(stream: "r-1", expected: .exact(3), events: [event()]),
                        AppendRequest(stream: "r-1", expected: .exact(3), events: [event()]),
                    ], idempotencyKey: nil)
            }
            #expect(stale == .wrongExpectedVersion)
            #expect(try await store.readStream("r-1", fromVersion: 1, limit: 10).map(\.position) == [1, 4, 5])
        }
    }

    @Test(
        arguments: Backend.available,
        [
            #"quote's "double" ;DROP TABLE events;--"#, "ünïcødé-😀", "100%_done", "back\\slash", "a\u{2028}b",
            "{braces,comma}", "$1 NULL",
        ])
    func namesAreStoredLiterally(backend: Backend, stream: String) async throws {
        try await withBackend(backend) { store, _ in
            _ = try await store.append(AppendRequest(stream: stream, events: [event("T'ype;", #"{"s":"x'y"}"#)]))
            let read = try await store.readStream(stream, fromVersion: 1, limit: 10)
            #expect(read.map(\.stream) == [stream] && read.map(\.type) == ["T'ype;"])
            #expect(read.first?.data == #"{"s":"x'y"}"#)
        }
    }

    @Test(arguments: Backend.available)
    func payloadBytesArePreservedExactly(backend: Backend) async throws {
        try await withBackend(backend) { store, _ in
            let payloads = [
                #"{"b":1,  "a":2}"#, #"  [1, 2 ,3]  "#, #"{"a":1,"a":2}"#, #"{"n":1.0e+10,"m":-0.000}"#,
                #"{"e":"\u00e9 é \"q\" \\ \n"}"#, #""just a string""#, "12345678901234567890123",
                "{\t\"nested\": {\"x\": [true, false, null]}\t}",
            ]
            let metadata = #"{ "z" : [1,  2], "y":{} }"#
            let events = payloads.map { ProposedEvent(type: "Raw", data: $0, metadata: metadata) }
            _ = try await store.append(AppendRequest(stream: "raw-1", events: events))
            let read = try await store.readAll(after: 0, limit: 100)
            #expect(read.map(\.data) == payloads && read.allSatisfy { $0.metadata == metadata })
            #expect(try await store.readStream("raw-1", fromVersion: 1, limit: 100).map(\.data) == payloads)
            for (after, limit) in [(0, 100), (0, 3), (2, 4), (7, 5), (8, 5)] {
                let packed = try await store.readAllPacked(after: Int64(after), limit: limit)
                #expect(packed.events() == (try await store.readAll(after: Int64(after), limit: limit)))
            }
            // A raw line break between tokens would split the archived record line: refused, nothing stored.
            for broken in ["{\n\"a\":1}", "[1,\r2]"] {
                await #expect(throws: CoordinationError.self) {
                    _ = try await store.append(
                        AppendRequest(stream: "raw-2", events: [ProposedEvent(type: "Raw", data: broken)]))
                }
                await #expect(throws: CoordinationError.self) {
                    _ = try await store.append(
                        AppendRequest(
                            stream: "raw-2", events: [ProposedEvent(type: "Raw", data: "{}", metadata: "{\n}")]))
                }
            }
            #expect(try await store.streamHead("raw-2") == nil)
        }
    }
}
