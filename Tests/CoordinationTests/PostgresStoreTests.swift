import Coordination
import Foundation
import Testing

@testable import CoordinationPostgres

/// A unique schema in the test database (`ARCHIVER_TEST_POSTGRES_URL`); dropped by ``withPostgres(_:)``.
struct PostgresFixture {
    let url: String
    let schema = "t_" + UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: "").prefix(16)

    func open(waitSeconds: Double = 2) async throws -> PostgresCoordinationStore {
        var options = PostgresCoordinationStore.Options()
        options.highWaterMarkWaitSeconds = waitSeconds
        let store = try await PostgresCoordinationStore(url: url, schema: schema, options: options)
        try await store.migrate()
        return store
    }

    /// A second session, outside any store (blocking calls are fine in a test).
    func rawConnection() throws -> PostgresConnection { try PostgresConnection(url: url) }

    func drop() {
        _ = try? rawConnection().execute("DROP SCHEMA IF EXISTS \(schema) CASCADE")
    }
}

/// Runs `body` with a fresh schema; without a test database it skips (or, under `CI=true`, fails).
func withPostgres(_ body: (PostgresFixture) async throws -> Void) async throws {
    guard let url = ProcessInfo.processInfo.environment["ARCHIVER_TEST_POSTGRES_URL"], !url.isEmpty else {
        if ProcessInfo.processInfo.environment["CI"] == "true" {
            Issue.record("ARCHIVER_TEST_POSTGRES_URL is not set: run the tests with scripts/with-services.sh")
        } else {
            print("PostgresStoreTests: ARCHIVER_TEST_POSTGRES_URL is not set; skipping (use scripts/with-services.sh)")
        }
        return
    }
    let fixture = PostgresFixture(url: url)
    do {
        try await body(fixture)
    } catch {
        fixture.drop()
        throw error
    }
    fixture.drop()
}

private func pgEvent(
    _ type: String = "Deposited", _ data: String = #"{"amount":1}"#, id: String? = nil
)
    -> ProposedEvent
{
    ProposedEvent(id: id, type: type, data: data)
}

/// The safe mark once it reaches `atLeast` (tests in other schemas share the server's transaction ids, so
/// under load the mark may lag for a while); the last value after 30 s otherwise.
func settledMark(_ store: PostgresCoordinationStore, atLeast wanted: Int64) async throws -> Int64 {
    let deadline = ContinuousClock.now + .seconds(30)
    var mark = try await store.safeHighWaterMark()
    while mark < wanted && ContinuousClock.now < deadline {
        mark = try await store.safeHighWaterMark()
    }
    return mark
}

/// Serialized: the safe high-water mark waits for every write transaction of the server, so a test that
/// keeps one open on purpose (out-of-order commits) would hold back the reads of tests running beside it.
@Suite(.serialized) struct PostgresStoreTests {
    @Test func appendAssignsVersionsAndIncreasingPositions() async throws {
        try await withPostgres { fixture in
            let store = try await fixture.open()
            let a = try await store.append(
                AppendRequest(stream: "a-1", expected: .noStream, events: [pgEvent(), pgEvent()]))
            let b = try await store.append(AppendRequest(stream: "b-1", events: [pgEvent()]))
            let c = try await store.append(AppendRequest(stream: "a-1", expected: .exact(2), events: [pgEvent()]))
            #expect((a.firstVersion, a.lastVersion, a.firstPosition, a.lastPosition) == (1, 2, 1, 2))
            #expect((b.firstVersion, b.firstPosition) == (1, 3))
            #expect((c.firstVersion, c.lastPosition) == (3, 4))
            #expect(!a.replayed && a.eventIDs.count == 2)
            let all = try await store.readAll(after: 0, limit: 100)
            #expect(all.map(\.position) == [1, 2, 3, 4])
            #expect(all.map(\.stream) == ["a-1", "a-1", "b-1", "a-1"])
            #expect(all.map(\.id) == a.eventIDs + b.eventIDs + c.eventIDs)
            #expect(try await store.safeHighWaterMark() == 4)
            #expect(try await store.readAll(after: 2, limit: 1).map(\.position) == [3])
            let stream = try await store.readStream("a-1", fromVersion: 2, limit: 10)
            #expect(stream.map(\.version) == [2, 3])
            #expect(try await store.streamHead("a-1") == StreamHead(stream: "a-1", version: 3, lastPosition: 4))
            #expect(try await store.streamHead("nope") == nil)
            #expect(try await store.streams(after: nil, limit: 10).map(\.stream) == ["a-1", "b-1"])
            #expect(try await store.streams(after: "a-1", limit: 10).map(\.stream) == ["b-1"])
            let status = try await store.status()
            #expect(status.headPosition == 4 && status.safeHighWaterMark == 4 && status.eventCount == 4)
            #expect(status.streamCount == 2 && status.unflushedCount == 4 && status.flushCursor == 0)
            #expect(try await store.flushLag() == FlushLag(flushCursor: 0, unflushedCount: 4, prunedThrough: 0))
            await store.close()
            await #expect(throws: CoordinationError.self) { try await store.streamHead("a-1") }
        }
    }

    @Test(arguments: [
        (ExpectedVersion.noStream, Int64(0), true), (.noStream, 2, false), (.streamExists, 0, false),
        (.streamExists, 2, true), (.exact(2), 2, true), (.exact(1), 2, false), (.exact(3), 2, false),
        (.any, 0, true), (.any, 2, true),
    ])
    func expectedVersions(expected: ExpectedVersion, existing: Int64, succeeds: Bool) async throws {
        try await withPostgres { fixture in
            let store = try await fixture.open()
            if existing > 0 {
                _ = try await store.append(
                    AppendRequest(stream: "s-1", events: (0..<existing).map { _ in pgEvent() }))
            }
            do {
                _ = try await store.append(AppendRequest(stream: "s-1", expected: expected, events: [pgEvent()]))
                #expect(succeeds)
            } catch let error as CoordinationError {
                #expect(!succeeds)
                #expect(error.code == .wrongExpectedVersion)
                #expect(error.actualVersion == existing)
                #expect(error.stream == "s-1")
            }
            #expect(try await store.streamHead("s-1")?.version ?? 0 == existing + (succeeds ? 1 : 0))
            #expect(try await store.status().eventCount == existing + (succeeds ? 1 : 0))
            await store.close()
        }
    }

    /// 16 writers on 16 store instances race for one stream with exact expectations.
    @Test func concurrentWritersWriteEachVersionOnce() async throws {
        try await withPostgres { fixture in
            _ = try await fixture.open()
            let rounds = 10
            let outcomes = try await withThrowingTaskGroup(of: (wins: Int, conflicts: Int).self) { group in
                for writer in 0..<16 {
                    group.addTask {
                        let store = try await fixture.open()
                        var wins = 0
                        var conflicts = 0
                        for _ in 0..<rounds {
                            let head = try await store.streamHead("race-1")?.version ?? 0
                            do {
                                _ = try await store.append(
                                    AppendRequest(
                                        stream: "race-1", expected: head == 0 ? .noStream : .exact(head),
                                        events: [pgEvent("W", #"{"writer":\#(writer)}"#)]))
                                wins += 1
                            } catch let error as CoordinationError where error.code == .wrongExpectedVersion {
                                #expect(error.actualVersion! > head, "a conflict reports the newer actual version")
                                conflicts += 1
                            }
                        }
                        await store.close()
                        return (wins, conflicts)
                    }
                }
                return try await group.reduce(into: [(Int, Int)]()) { $0.append(($1.wins, $1.conflicts)) }
            }
            let store = try await fixture.open()
            let events = try await store.readStream("race-1", fromVersion: 1, limit: 1_000)
            let wins = outcomes.map(\.0).reduce(0, +)
            #expect(events.count == wins)
            #expect(events.map(\.version) == Array(1...Int64(wins)))
            #expect(outcomes.map { $0.0 + $0.1 }.allSatisfy { $0 == rounds })
            #expect(outcomes.map(\.1).reduce(0, +) > 0, "16 racing writers should produce conflicts")
            let all = try await store.readAll(after: 0, limit: 1_000)
            #expect(all.count == wins)
            #expect(all.map(\.position) == all.map(\.position).sorted())
            await store.close()
        }
    }

    /// 16 writers append to one new stream with `any` at once, one and three events per call: the first
    /// appends race to create the stream's row, every append lands, and the stream's positions rise with its
    /// versions (positions are drawn after the row lock, also by a writer that waited for it).
    @Test func concurrentAnyWritersKeepPositionsInVersionOrder() async throws {
        try await withPostgres { fixture in
            _ = try await fixture.open()
            try await withThrowingTaskGroup(of: Void.self) { group in
                for writer in 0..<16 {
                    group.addTask {
                        let store = try await fixture.open()
                        for round in 0..<10 {
                            let events = (0..<(round % 2 == 0 ? 1 : 3)).map { _ in
                                pgEvent("W", #"{"writer":\#(writer)}"#)
                            }
                            _ = try await store.append(AppendRequest(stream: "any-1", events: events))
                        }
                        await store.close()
                    }
                }
                try await group.waitForAll()
            }
            let store = try await fixture.open()
            let events = try await store.readStream("any-1", fromVersion: 1, limit: 1_000)
            let expected = 16 * (5 * 1 + 5 * 3)
            #expect(events.count == expected)
            let versions: [Int64] = events.map(\.version)
            let positions: [Int64] = events.map(\.position)
            #expect(versions == Array(1...Int64(expected)))
            #expect(positions == positions.sorted())
            let head = try await store.streamHead("any-1")
            #expect(head?.version == Int64(events.count))
            #expect(head?.lastPosition == events.last?.position)
            await store.close()
        }
    }

    /// 16 retries of one idempotent append, on 16 store instances: one write, one result.
    @Test func concurrentIdempotentRetriesWriteOnce() async throws {
        try await withPostgres { fixture in
            _ = try await fixture.open()
            let request = AppendRequest(
                stream: "pay-1", expected: .any, idempotencyKey: "payment-7",
                events: [pgEvent("Paid", #"{"amount":42}"#), pgEvent("Receipt", #"{"n":1}"#)])
            let results = try await withThrowingTaskGroup(of: AppendResult.self) { group in
                for _ in 0..<16 {
                    group.addTask {
                        let store = try await fixture.open()
                        let result = try await store.append(request)
                        await store.close()
                        return result
                    }
                }
                return try await group.reduce(into: [AppendResult]()) { $0.append($1) }
            }
            #expect(results.count == 16)
            #expect(results.filter { !$0.replayed }.count == 1)
            let first = try #require(results.first { !$0.replayed })
            for r in results {
                #expect(r.firstPosition == first.firstPosition && r.lastPosition == first.lastPosition)
                #expect(r.eventIDs == first.eventIDs && r.stream == "pay-1")
            }
            // A new store instance: same result, no write; a different request under the same key is refused.
            let store = try await fixture.open()
            #expect(try await store.readAll(after: 0, limit: 100).map(\.id) == first.eventIDs)
            let again = try await store.append(request)
            #expect(again.replayed && again.eventIDs == first.eventIDs)
            var different = request
            different.events[0].data = #"{"amount":43}"#
            do {
                _ = try await store.append(different)
                Issue.record("a different request under a used key was accepted")
            } catch let error as CoordinationError {
                #expect(error.code == .idempotencyConflict)
                #expect(!error.message.contains("43"))
            }
            #expect(try await store.readAll(after: 0, limit: 100).count == 2)
            #expect(try await store.pruneIdempotencyKeys(olderThanSeconds: 3600) == 0)
            #expect(try await store.pruneIdempotencyKeys(olderThanSeconds: -60) == 1)
            #expect(try await store.append(request).replayed == false)
            await store.close()
        }
    }

    @Test func appendMultipleIsAtomicAndIdempotent() async throws {
        try await withPostgres { fixture in
            let store = try await fixture.open()
            let requests = [
                AppendRequest(stream: "m-1", expected: .noStream, events: [pgEvent()]),
                AppendRequest(stream: "m-2", expected: .noStream, events: [pgEvent(), pgEvent()]),
            ]
            let results = try await store.appendMultiple(requests, idempotencyKey: "multi-1")
            #expect(results.map(\.stream) == ["m-1", "m-2"] && results.allSatisfy { !$0.replayed })
            #expect(results[1].lastVersion == 2)
            let replayed = try await store.appendMultiple(requests, idempotencyKey: "multi-1")
            #expect(replayed.allSatisfy(\.replayed) && replayed.map(\.eventIDs) == results.map(\.eventIDs))
            await #expect(throws: CoordinationError.self) {
                try await store.appendMultiple(Array(requests.reversed()), idempotencyKey: "multi-1")
            }
            // The second expectation fails: nothing of the call is written.
            let failing = [
                AppendRequest(stream: "m-3", expected: .noStream, events: [pgEvent()]),
                AppendRequest(stream: "m-1", expected: .noStream, events: [pgEvent()]),
            ]
            do {
                _ = try await store.appendMultiple(failing, idempotencyKey: nil)
                Issue.record("a failing expectation was accepted")
            } catch let error as CoordinationError {
                #expect(error.code == .wrongExpectedVersion && error.actualVersion == 1 && error.stream == "m-1")
            }
            #expect(try await store.streamHead("m-3") == nil)
            #expect(try await store.status().eventCount == 3)
            await store.close()
        }
    }

    /// One call with a stream in two requests: the second is checked against the version the first left, and
    /// positions follow the requests' order.
    @Test func appendMultipleChecksARepeatedStreamInOrder() async throws {
        try await withPostgres { fixture in
            let store = try await fixture.open()
            let results = try await store.appendMultiple(
                [
                    AppendRequest(stream: "r-1", expected: .noStream, events: [pgEvent()]),
                    AppendRequest(stream: "r-2", expected: .any, events: [pgEvent(), pgEvent()]),
                    AppendRequest(stream: "r-1", expected: .exact(1), events: [pgEvent(), pgEvent()]),
                ], idempotencyKey: nil)
            #expect(results.map(\.stream) == ["r-1", "r-2", "r-1"])
            #expect(results.map(\.firstVersion) == [1, 1, 2])
            #expect(results.map(\.lastVersion) == [1, 2, 3])
            #expect(results.map(\.firstPosition) == [1, 2, 4])
            #expect(results.map(\.lastPosition) == [1, 3, 5])
            #expect(results.map(\.eventIDs.count) == [1, 2, 2])
            do {
                _ = try await store.appendMultiple(
                    [
                        AppendRequest(stream: "r-1", expected: .exact(3), events: [pgEvent()]),
                        AppendRequest(stream: "r-1", expected: .exact(3), events: [pgEvent()]),
                    ], idempotencyKey: nil)
                Issue.record("the second request's stale expectation was accepted")
            } catch let error as CoordinationError {
                #expect(error.code == .wrongExpectedVersion && error.actualVersion == 4 && error.stream == "r-1")
            }
            let head = try await store.streamHead("r-1")
            #expect(head?.version == 3 && head?.lastPosition == 5)
            let stream = try await store.readStream("r-1", fromVersion: 1, limit: 10)
            #expect(stream.map(\.position) == [1, 4, 5])
            await store.close()
        }
    }

    /// Multi-stream appends in opposite orders deadlock now and then; the store runs them again.
    @Test func crossedMultiStreamAppendsAllCommit() async throws {
        try await withPostgres { fixture in
            _ = try await fixture.open()
            let perWriter = 10
            try await withThrowingTaskGroup(of: Void.self) { group in
                for writer in 0..<8 {
                    group.addTask {
                        let store = try await fixture.open()
                        let streams = writer % 2 == 0 ? ["x-1", "y-1"] : ["y-1", "x-1"]
                        for _ in 0..<perWriter {
                            _ = try await store.appendMultiple(
                                streams.map { AppendRequest(stream: $0, events: [pgEvent()]) }, idempotencyKey: nil)
                        }
                        await store.close()
                    }
                }
                try await group.waitForAll()
            }
            let store = try await fixture.open()
            #expect(try await store.streamHead("x-1")?.version == Int64(8 * perWriter))
            #expect(try await store.streamHead("y-1")?.version == Int64(8 * perWriter))
            #expect(try await store.isInitialised())
            await store.close()
        }
    }

    @Test(arguments: [
        #"quote's "double" ;DROP TABLE events;--"#, "ünïcødé-😀", "100%_done", "back\\slash", "a\u{2028}b",
        "{braces,comma}", "$1 NULL",
    ])
    func namesAreStoredLiterally(stream: String) async throws {
        try await withPostgres { fixture in
            let store = try await fixture.open()
            let result = try await store.append(
                AppendRequest(
                    stream: stream, idempotencyKey: "k'\(stream)", events: [pgEvent("T'ype;{,}", #"{"s":"x'y"}"#)]))
            #expect(result.stream == stream)
            #expect(
                try await store.append(
                    AppendRequest(
                        stream: stream, idempotencyKey: "k'\(stream)", events: [pgEvent("T'ype;{,}", #"{"s":"x'y"}"#)])
                ).replayed)
            let read = try await store.readStream(stream, fromVersion: 1, limit: 10)
            #expect(read.count == 1)
            #expect(read.first?.stream == stream)
            #expect(read.first?.type == "T'ype;{,}")
            #expect(read.first?.data == #"{"s":"x'y"}"#)
            #expect(try await store.streamHead(stream)?.version == 1)
            #expect(try await store.status().eventCount == 1)
            try await store.setCheckpoint(stream, position: 1)
            #expect(try await store.checkpoints() == [ConsumerCheckpoint(name: stream, position: 1)])
            await store.close()
        }
    }

    /// The flusher's reads: page after page of `readAllPacked`, each full page sending the read of the next
    /// one ahead. A statement in between drops it, and a read of another position does not take it.
    @Test func packedPagesReadAheadEqualReadAll() async throws {
        try await withPostgres { fixture in
            let store = try await fixture.open()
            for batch in 0..<5 {
                let events = (0..<47).map { i in pgEvent("T", #"{"batch":\#(batch),"i":\#(i)}"#) }
                _ = try await store.append(AppendRequest(stream: "p-\(batch)", events: events))
            }
            let all = try await store.readAll(after: 0, limit: 1_000)
            #expect(all.count == 235)
            var packed: [RecordedEvent] = []
            var after: Int64 = 0
            var page = 0
            while true {
                let events = try await store.readAllPacked(after: after, limit: 20)
                packed += events.events()
                guard let last = events.positions.last else { break }
                after = last
                page += 1
                if page % 3 == 0 { _ = try await store.status() }
                if page % 4 == 0 {
                    let first = try await store.readAllPacked(after: 0, limit: 20).events()
                    #expect(first == Array(all.prefix(20)))
                }
            }
            #expect(packed == all)
            await store.close()
        }
    }

    @Test func payloadBytesArePreservedExactly() async throws {
        try await withPostgres { fixture in
            let store = try await fixture.open()
            let payloads = [
                #"{"b":1,  "a":2}"#, #"  [1, 2 ,3]  "#, #"{"a":1,"a":2}"#, #"{"n":1.0e+10,"m":-0.000}"#,
                #"{"e":"\u00e9 é \"q\" \\ \n"}"#, #""just a string""#, "12345678901234567890123",
                "{\n\t\"nested\": {\"x\": [true, false, null]}\n}",
            ]
            let metadata = #"{ "z" : [1,  2], "y":{} }"#
            let events = payloads.map { ProposedEvent(type: "Raw", data: $0, metadata: metadata) }
            _ = try await store.append(AppendRequest(stream: "raw-1", events: events))
            let read = try await store.readAll(after: 0, limit: 100)
            #expect(read.map(\.data) == payloads)
            #expect(read.allSatisfy { $0.metadata == metadata })
            #expect(try await store.readStream("raw-1", fromVersion: 1, limit: 100).map(\.data) == payloads)
            // The flusher's packed read gives the same events, byte for byte, at any page boundary.
            for (after, limit) in [(0, 100), (0, 3), (2, 4), (7, 5), (8, 5)] {
                let packed = try await store.readAllPacked(after: Int64(after), limit: limit)
                #expect(packed.events() == (try await store.readAll(after: Int64(after), limit: limit)))
            }
        }
    }

    @Test func badInputIsRefusedAndLeavesTheStoreUnchanged() async throws {
        try await withPostgres { fixture in
            let store = try await fixture.open()
            _ = try await store.append(AppendRequest(stream: "ok-1", events: [pgEvent()]))
            let huge = "{\"x\":\"" + String(repeating: "a", count: 1 << 20) + "\"}"
            let cases: [(AppendRequest, CoordinationError.Code)] = [
                (AppendRequest(stream: "ok-1", events: [pgEvent("T", "{not json")]), .invalidInput),
                (
                    AppendRequest(stream: "ok-1", events: [pgEvent("T", #"{"a":1}"#), pgEvent("T", "[1,]")]),
                    .invalidInput
                ),
                (
                    AppendRequest(stream: "ok-1", events: [ProposedEvent(type: "T", data: "{}", metadata: "[]")]),
                    .invalidInput
                ),
                (AppendRequest(stream: "", events: [pgEvent()]), .invalidInput),
                (AppendRequest(stream: String(repeating: "s", count: 256), events: [pgEvent()]), .invalidInput),
                (AppendRequest(stream: "ok-1", events: []), .invalidInput),
                (AppendRequest(stream: "ok-1", events: [pgEvent("", "{}")]), .invalidInput),
                (AppendRequest(stream: "ok-1", events: [pgEvent("T", huge)]), .eventTooLarge),
                (AppendRequest(stream: "ok-1", events: [pgEvent("T", "{}", id: "not-a-uuid")]), .invalidInput),
                (AppendRequest(stream: "ok-1", expected: .exact(0), events: [pgEvent()]), .invalidInput),
                (AppendRequest(stream: "ok\u{1}", events: [pgEvent()]), .invalidInput),
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
            await store.close()
        }
    }

    @Test func badSchemaNamesAndUnreachableServersAreRefusedWithoutThePassword() async throws {
        for name in ["Bad", "1abc", "a-b", "", String(repeating: "a", count: 64), "x;drop"] {
            do {
                _ = try await PostgresCoordinationStore(url: "postgres://127.0.0.1:1/x", schema: name)
                Issue.record("schema name \(name) accepted")
            } catch let error as CoordinationError {
                #expect(error.code == .invalidInput)
            }
        }
        #expect(PostgresCoordinationStore.isValidSchemaName("_a9_" + String(repeating: "z", count: 59)))
        do {
            _ = try await PostgresCoordinationStore(
                url: "postgres://ada:s3cr%65tpw@127.0.0.1:1/app?connect_timeout=2", schema: "archiver")
            Issue.record("connected to a closed port")
        } catch let error as CoordinationError {
            #expect(error.code == .connectionFailed)
            #expect(error.message.contains("127.0.0.1:1"), "\(error.message)")
            #expect(!error.message.contains("s3cr"), "\(error.message)")
        }
    }

    @Test func migrationsAreRecordedAndTamperingIsRefused() async throws {
        try await withPostgres { fixture in
            let store = try await PostgresCoordinationStore(url: fixture.url, schema: fixture.schema)
            let first = try await store.migrate()
            #expect(first.allSatisfy(\.appliedNow) && !first.isEmpty)
            #expect(first.allSatisfy { $0.checksum.count == 64 })
            let second = try await store.migrate()
            #expect(second.allSatisfy { !$0.appliedNow } && second.map(\.checksum) == first.map(\.checksum))
            // Concurrent migrations of an existing schema agree.
            async let a = fixture.open()
            async let b = fixture.open()
            _ = try await (a, b)
            let raw = try fixture.rawConnection()
            try raw.execute("UPDATE \(fixture.schema).archiver_migrations SET checksum = 'bad' WHERE version = 1")
            do {
                try await store.migrate()
                Issue.record("a tampered migration was accepted")
            } catch let error as CoordinationError {
                #expect(error.code == .migrationMismatch)
            }
            try raw.query(
                "UPDATE \(fixture.schema).archiver_migrations SET checksum = $1 WHERE version = 1", [first[0].checksum])
            try await store.migrate()
            try raw.execute(
                "INSERT INTO \(fixture.schema).archiver_migrations (version, name, checksum) VALUES (99, 'future', 'x')"
            )
            do {
                try await store.migrate()
                Issue.record("an unknown migration was accepted")
            } catch let error as CoordinationError {
                #expect(error.code == .migrationMismatch)
                #expect(error.message.contains("99"))
            }
            await store.close()
        }
    }

    @Test func embeddedMigrationsEqualTheSQLFiles() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
        let files = try FileManager.default.contentsOfDirectory(atPath: root.path + "/migrations/postgres")
            .filter { $0.hasSuffix(".sql") }.sorted()
        #expect(!files.isEmpty)
        #expect(files.count == embeddedMigrations.count)
        for (file, migration) in zip(files, embeddedMigrations) {
            let text = try String(contentsOfFile: root.path + "/migrations/postgres/" + file, encoding: .utf8)
            #expect(
                text.trimmingCharacters(in: .whitespacesAndNewlines)
                    == migration.sql.trimmingCharacters(in: .whitespacesAndNewlines),
                "\(file) not embedded; run scripts/embed-migrations.sh")
        }
    }

    @Test func leasesAreFencedAndTakeoversIncrementTheToken() async throws {
        try await withPostgres { fixture in
            let store = try await fixture.open()
            #expect(try await store.currentLease("flusher") == nil)
            let a = try #require(try await store.acquireLease("flusher", holder: "a", ttlSeconds: 60))
            #expect(a.fencingToken == 1)
            #expect(try await store.acquireLease("flusher", holder: "b", ttlSeconds: 60) == nil)
            #expect(try await store.takeOverLease("flusher", from: "zed", holder: "b", ttlSeconds: 60) == nil)
            let renewed = try #require(try await store.acquireLease("flusher", holder: "a", ttlSeconds: 60))
            #expect(renewed.fencingToken == a.fencingToken)
            let b = try #require(try await store.takeOverLease("flusher", from: "a", holder: "b", ttlSeconds: 60))
            #expect(b.fencingToken == a.fencingToken + 1)
            #expect(try await store.currentLease("flusher")?.holder == "b")
            // The stale holder can neither record nor complete a flush.
            let stale = FlushIntent(
                snapshotID: "1", firstPosition: 1, lastPosition: 1, eventCount: 1, chainStart: "", chainHead: "h1",
                parentSnapshotID: "", cutName: nil, fencingToken: a.fencingToken)
            do {
                try await store.recordFlushIntent(stale)
                Issue.record("a stale token recorded an intent")
            } catch let error as CoordinationError {
                #expect(error.code == .fenced)
            }
            var fresh = stale
            fresh.fencingToken = b.fencingToken
            fresh.cutName = "release-1"
            try await store.recordFlushIntent(fresh)
            #expect(try await store.pendingFlushIntent() == fresh)
            var second = fresh
            second.snapshotID = "2"
            do {
                try await store.recordFlushIntent(second)
                Issue.record("a second intent was recorded")
            } catch let error as CoordinationError {
                #expect(error.code == .intentExists)
            }
            await #expect(throws: CoordinationError.self) { try await store.completeFlush(stale) }
            try await store.completeFlush(fresh)
            #expect(
                try await store.flushCursor()
                    == FlushCursor(position: 1, chainHead: "h1", snapshotID: "1", archivedCount: 1))
            #expect(try await store.pendingFlushIntent() == nil)
            try await store.recordFlushIntent(second)
            try await store.abandonFlushIntent(snapshotID: "other")
            #expect(try await store.pendingFlushIntent() != nil)
            try await store.abandonFlushIntent(snapshotID: "2")
            #expect(try await store.pendingFlushIntent() == nil)
            try await store.releaseLease("flusher", holder: "b")
            let c = try #require(try await store.acquireLease("flusher", holder: "c", ttlSeconds: 60))
            #expect(c.fencingToken == b.fencingToken + 1)
            await store.close()
        }
    }

    /// 16 store instances race for a fresh lease: exactly one wins.
    @Test func concurrentFirstAcquirersGetOneLease() async throws {
        try await withPostgres { fixture in
            _ = try await fixture.open()
            let winners = try await withThrowingTaskGroup(of: Lease?.self) { group in
                for holder in 0..<16 {
                    group.addTask {
                        let store = try await fixture.open()
                        let lease = try await store.acquireLease("flusher", holder: "h\(holder)", ttlSeconds: 60)
                        await store.close()
                        return lease
                    }
                }
                return try await group.reduce(into: [Lease]()) { if let lease = $1 { $0.append(lease) } }
            }
            #expect(winners.count == 1 && winners.first?.fencingToken == 1)
        }
    }

    @Test func pruneRespectsTheCursorAndCheckpointsAndKeepsHeads() async throws {
        try await withPostgres { fixture in
            let store = try await fixture.open()
            _ = try await store.append(AppendRequest(stream: "p-1", events: (0..<10).map { _ in pgEvent() }))
            await #expect(throws: CoordinationError.self) { try await store.pruneEvents(upTo: 5) }
            let lease = try #require(try await store.acquireLease("flusher", holder: "f", ttlSeconds: 60))
            let intent = FlushIntent(
                snapshotID: "1", firstPosition: 1, lastPosition: 6, eventCount: 6, chainStart: "", chainHead: "",
                parentSnapshotID: "", cutName: nil, fencingToken: lease.fencingToken)
            try await store.recordFlushIntent(intent)
            try await store.completeFlush(intent)
            #expect(try await store.status().unflushedCount == 4)
            try await store.setCheckpoint("projector", position: 4)
            await #expect(throws: CoordinationError.self) { try await store.pruneEvents(upTo: 6) }
            try await store.setCheckpoint("projector", position: 8)
            #expect(try await store.pruneEvents(upTo: 6) == 6)
            #expect(try await store.prunedThrough() == 6)
            #expect(try await store.status().eventCount == 4)
            // Heads and expectations keep working; a pruned range says where to read it.
            _ = try await store.append(AppendRequest(stream: "p-1", expected: .exact(10), events: [pgEvent()]))
            do {
                _ = try await store.readStream("p-1", fromVersion: 1, limit: 5)
                Issue.record("a pruned stream range was read")
            } catch let error as CoordinationError {
                #expect(error.code == .prunedRange)
            }
            #expect(try await store.readStream("p-1", fromVersion: 7, limit: 10).map(\.version) == [7, 8, 9, 10, 11])
            do {
                _ = try await store.readAll(after: 0, limit: 5)
                Issue.record("a pruned range was read")
            } catch let error as CoordinationError {
                #expect(error.code == .prunedRange)
            }
            #expect(try await store.readAll(after: 6, limit: 10).map(\.position) == [7, 8, 9, 10, 11])
            #expect(try await store.pruneEvents(upTo: 6) == 0)
            await store.close()
        }
    }

    @Test func restoreKeepsPositionsAndAdvancesTheSequence() async throws {
        try await withPostgres { fixture in
            let source = try await fixture.open()
            _ = try await source.append(
                AppendRequest(stream: "r-1", events: [pgEvent(), pgEvent("X", #"{"b":1,  "a":2}"#)]))
            let original = try await source.readAll(after: 0, limit: 10)
            await source.close()
            let target = PostgresFixture(url: fixture.url)
            defer { target.drop() }
            let store = try await target.open()
            var shifted = original
            for index in shifted.indices { shifted[index].position += 40 }
            try await store.restoreEvents(shifted)
            try await store.restoreFlushCursor(
                FlushCursor(position: 42, chainHead: "abc", snapshotID: "s9", archivedCount: 2))
            #expect(try await store.readAll(after: 0, limit: 10) == shifted)
            #expect(try await store.streamHead("r-1") == StreamHead(stream: "r-1", version: 2, lastPosition: 42))
            let next = try await store.append(AppendRequest(stream: "r-1", expected: .exact(2), events: [pgEvent()]))
            #expect(next.firstPosition == 43 && next.firstVersion == 3)
            #expect(try await store.flushCursor().snapshotID == "s9")
            do {
                try await store.restoreEvents(shifted)
                Issue.record("restored over taken positions")
            } catch let error as CoordinationError {
                #expect(error.code == .invalidInput)
            }
            #expect(try await store.status().eventCount == 3)
            await store.close()
        }
    }

    @Test func waitForEventsWakesOnAppendFromAnotherInstance() async throws {
        try await withPostgres { fixture in
            let waiter = try await fixture.open()
            let writer = try await fixture.open()
            // Nothing above 0: times out.
            let quiet = ContinuousClock.now
            try await waiter.waitForEvents(after: 0, timeoutSeconds: 0.2)
            #expect(ContinuousClock.now - quiet >= .milliseconds(150))
            let started = ContinuousClock.now
            // A liveness check, not a timing one: without the notification the wait would last its full 300 s.
            async let waited: Void = waiter.waitForEvents(after: 0, timeoutSeconds: 300)
            try await Task.sleep(for: .milliseconds(100))
            _ = try await writer.append(AppendRequest(stream: "w-1", events: [pgEvent()]))
            try await waited
            #expect(ContinuousClock.now - started < .seconds(60))
            // Other calls on the waiting store keep running while it waits.
            async let again: Void = waiter.waitForEvents(after: 1, timeoutSeconds: 1)
            #expect(try await waiter.streamHead("w-1")?.version == 1)
            try await again
            // A position taken by an append that rolled back moves the sequence, not the events: still a wait.
            _ = try fixture.rawConnection().execute("SELECT nextval('\(fixture.schema).positions_seq')")
            let gap = ContinuousClock.now
            try await waiter.waitForEvents(after: 1, timeoutSeconds: 0.3)
            #expect(ContinuousClock.now - gap >= .milliseconds(250), "a sequence gap woke the waiter")
            await waiter.close()
            await writer.close()
        }
    }

    /// Positions commit out of order: an open transaction holding a lower position keeps readers below it,
    /// so nothing is skipped when it commits.
    @Test func outOfOrderCommitsAreNeverSkipped() async throws {
        try await withPostgres { fixture in
            let store = try await fixture.open(waitSeconds: 0.3)
            let early = try await store.append(AppendRequest(stream: "o-1", events: [pgEvent()]))
            #expect(early.lastPosition == 1)
            // Observed while nothing is in flight in this schema, 1 becomes the safe mark (once the
            // transactions of the tests running in parallel, in other schemas, have finished).
            #expect(try await settledMark(store, atLeast: 1) == 1)
            let raw = try fixture.rawConnection()
            try raw.execute("BEGIN")
            let slowID = UUID().uuidString.lowercased()
            let rows = try raw.query(
                "SELECT out_result FROM \(fixture.schema).append($1, 'any', NULL, NULL, $2::uuid[], $3::text[], "
                    + "$4::json[], $5::json[])",
                [
                    "slow-1", PostgresCoordinationStore.arrayLiteral([slowID]),
                    PostgresCoordinationStore.arrayLiteral(["Slow"]),
                    PostgresCoordinationStore.arrayLiteral([#"{"slow":true}"#]),
                    PostgresCoordinationStore.arrayLiteral(["{}"]),
                ])
            let slow = try #require(try AppendResult.decodeArray(rows.string(0, 0)).first)
            #expect(slow.lastPosition == 2)
            let fast = try await store.append(AppendRequest(stream: "fast-1", events: [pgEvent()]))
            #expect(fast.lastPosition == 3)

            let safe = try await store.safeHighWaterMark()
            #expect(safe < slow.lastPosition, "the safe mark stays below the open transaction's position")
            #expect(safe == 1)
            #expect(try await store.readAll(after: 0, limit: 10).map(\.position) == [1])
            #expect(try await store.readAll(after: 1, limit: 10).isEmpty)
            let status = try await store.status()
            #expect(status.headPosition == 3 && status.safeHighWaterMark == 1)

            try raw.execute("COMMIT")
            #expect(try await settledMark(store, atLeast: 3) == 3)
            let all = try await store.readAll(after: 0, limit: 10)
            #expect(all.map(\.position) == [1, 2, 3])
            #expect(all.map(\.stream) == ["o-1", "slow-1", "fast-1"])
            #expect(all[1].id == slowID && all[1].data == #"{"slow":true}"#)

            // A rolled-back position is a gap that does not hold readers back.
            try raw.execute("BEGIN")
            try raw.query(
                "SELECT out_result FROM \(fixture.schema).append('gone-1', 'any', NULL, NULL, $1::uuid[], "
                    + "'{T}'::text[], '{\"{}\"}'::json[], '{\"{}\"}'::json[])",
                [PostgresCoordinationStore.arrayLiteral([UUID().uuidString.lowercased()])])
            try raw.execute("ROLLBACK")
            _ = try await store.append(AppendRequest(stream: "fast-1", events: [pgEvent()]))
            #expect(try await settledMark(store, atLeast: 5) == 5)
            #expect(try await store.readAll(after: 3, limit: 10).map(\.position) == [5])
            await store.close()
        }
    }
}
