import Coordination
import CoordinationSQLite
import Foundation
import Testing

/// A fresh store in a temporary directory; several connections to it can be opened.
struct StoreFixture {
    let directory: String
    var path: String { directory + "/archiver.db" }

    init() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("coord-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    }

    func open() async throws -> SQLiteCoordinationStore {
        let store = try await SQLiteCoordinationStore(path: path)
        try await store.migrate()
        return store
    }

    func remove() { try? FileManager.default.removeItem(atPath: directory) }
}

func withStore<T>(_ body: (SQLiteCoordinationStore, StoreFixture) async throws -> T) async throws -> T {
    let fixture = try StoreFixture()
    defer { fixture.remove() }
    let store = try await fixture.open()
    let result = try await body(store, fixture)
    await store.close()
    return result
}

func event(_ type: String = "Deposited", _ data: String = #"{"amount":1}"#, id: String? = nil) -> ProposedEvent {
    ProposedEvent(id: id, type: type, data: data)
}

@Suite struct CoordinationStoreTests {
    @Test func appendAssignsVersionsAndGapFreePositions() async throws {
        try await withStore { store, _ in
            let a = try await store.append(
                AppendRequest(stream: "a-1", expected: .noStream, events: [event(), event()]))
            let b = try await store.append(AppendRequest(stream: "b-1", events: [event()]))
            let c = try await store.append(AppendRequest(stream: "a-1", expected: .exact(2), events: [event()]))
            #expect((a.firstVersion, a.lastVersion, a.firstPosition, a.lastPosition) == (1, 2, 1, 2))
            #expect((b.firstVersion, b.firstPosition) == (1, 3))
            #expect((c.firstVersion, c.lastPosition) == (3, 4))
            let all = try await store.readAll(after: 0, limit: 100)
            #expect(all.map(\.position) == [1, 2, 3, 4])
            #expect(all.map(\.stream) == ["a-1", "a-1", "b-1", "a-1"])
            #expect(try await store.safeHighWaterMark() == 4)
            let stream = try await store.readStream("a-1", fromVersion: 2, limit: 10)
            #expect(stream.map(\.version) == [2, 3])
            #expect(try await store.streamHead("a-1") == StreamHead(stream: "a-1", version: 3, lastPosition: 4))
        }
    }

    @Test(arguments: [
        (ExpectedVersion.noStream, Int64(0), true), (.noStream, 2, false), (.streamExists, 0, false),
        (.streamExists, 2, true), (.exact(2), 2, true), (.exact(1), 2, false), (.any, 0, true), (.any, 2, true),
    ])
    func expectedVersions(expected: ExpectedVersion, existing: Int64, succeeds: Bool) async throws {
        try await withStore { store, _ in
            if existing > 0 {
                _ = try await store.append(
                    AppendRequest(stream: "s-1", events: (0..<existing).map { _ in event() }))
            }
            do {
                _ = try await store.append(AppendRequest(stream: "s-1", expected: expected, events: [event()]))
                #expect(succeeds)
            } catch let error as CoordinationError {
                #expect(!succeeds)
                #expect(error.code == .wrongExpectedVersion)
                #expect(error.actualVersion == existing)
            }
            #expect(try await store.streamHead("s-1")?.version ?? 0 == existing + (succeeds ? 1 : 0))
        }
    }

    /// 16 writers on 16 connections race for one stream with exact expectations.
    @Test func concurrentWritersWriteEachVersionOnce() async throws {
        let fixture = try StoreFixture()
        defer { fixture.remove() }
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
    }

    /// 16 retries of one idempotent append, on 16 connections: one write, one result.
    @Test func concurrentIdempotentRetriesWriteOnce() async throws {
        let fixture = try StoreFixture()
        defer { fixture.remove() }
        _ = try await fixture.open()
        let request = AppendRequest(
            stream: "pay-1", expected: .any, idempotencyKey: "payment-7",
            events: [event("Paid", #"{"amount":42}"#), event("Receipt", #"{"n":1}"#)])
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
        #expect(results.filter { !$0.replayed }.count == 1)
        let first = results.first { !$0.replayed }!
        for r in results {
            #expect(r.firstPosition == first.firstPosition && r.lastPosition == first.lastPosition)
            #expect(r.eventIDs == first.eventIDs)
        }
        let store = try await fixture.open()
        #expect(try await store.readAll(after: 0, limit: 100).count == 2)
        // After a restart: same result, no write; a different request under the same key is refused.
        let again = try await store.append(request)
        #expect(again.replayed && again.eventIDs == first.eventIDs)
        var different = request
        different.events[0].data = #"{"amount":43}"#
        await #expect(throws: CoordinationError.self) { try await store.append(different) }
        do {
            _ = try await store.append(different)
        } catch let error as CoordinationError {
            #expect(error.code == .idempotencyConflict)
        }
        #expect(try await store.readAll(after: 0, limit: 100).count == 2)
    }

    @Test(arguments: [
        #"quote's "double" ;DROP TABLE events;--"#, "ünïcødé-😀", "100%_done", "back\\slash", "a\u{2028}b",
    ])
    func namesAreStoredLiterally(stream: String) async throws {
        try await withStore { store, _ in
            _ = try await store.append(AppendRequest(stream: stream, events: [event("T'ype;", #"{"s":"x'y"}"#)]))
            let read = try await store.readStream(stream, fromVersion: 1, limit: 10)
            #expect(read.count == 1)
            #expect(read.first?.stream == stream)
            #expect(read.first?.type == "T'ype;")
            #expect(read.first?.data == #"{"s":"x'y"}"#)
            #expect(try await store.status().eventCount == 1)
        }
    }

    @Test func badInputIsRefusedAndLeavesTheStoreUnchanged() async throws {
        try await withStore { store, _ in
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
                (AppendRequest(stream: String(repeating: "s", count: 256), events: [event()]), .invalidInput),
                (AppendRequest(stream: "ok-1", events: []), .invalidInput),
                (AppendRequest(stream: "ok-1", events: [event("", "{}")]), .invalidInput),
                (AppendRequest(stream: "ok-1", events: [event("T", huge)]), .eventTooLarge),
                (AppendRequest(stream: "ok-1", events: [event("T", "{}", id: "not-a-uuid")]), .invalidInput),
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

    @Test func migrationsAreRecordedAndTamperingIsRefused() async throws {
        let fixture = try StoreFixture()
        defer { fixture.remove() }
        let store = try await SQLiteCoordinationStore(path: fixture.path)
        let first = try await store.migrate()
        #expect(first.allSatisfy(\.appliedNow) && !first.isEmpty)
        let second = try await store.migrate()
        #expect(second.allSatisfy { !$0.appliedNow })
        await store.close()
        // Alter the recorded checksum as a hand-edited schema would.
        let tamper = Process()
        tamper.executableURL = URL(fileURLWithPath: "/usr/bin/sqlite3")
        tamper.arguments = [fixture.path, "UPDATE archiver_migrations SET checksum = 'bad' WHERE version = 1"]
        try tamper.run()
        tamper.waitUntilExit()
        let reopened = try await SQLiteCoordinationStore(path: fixture.path)
        await #expect(throws: CoordinationError.self) { try await reopened.migrate() }
        await reopened.close()
    }

    @Test func embeddedMigrationsEqualTheSQLFiles() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
        let files = try FileManager.default.contentsOfDirectory(atPath: root.path + "/migrations/sqlite")
            .filter { $0.hasSuffix(".sql") }.sorted()
        #expect(!files.isEmpty)
        let embedded = Set(
            try String(
                contentsOfFile: root.path + "/Sources/CoordinationSQLite/EmbeddedMigrations.swift", encoding: .utf8
            )
            .split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) })
        for file in files {
            for line in try String(contentsOfFile: root.path + "/migrations/sqlite/" + file, encoding: .utf8)
                .split(separator: "\n")
            {
                #expect(
                    embedded.contains(line.trimmingCharacters(in: .whitespaces)),
                    "\(file): \(line) not embedded; run scripts/embed-migrations.sh")
            }
        }
    }

    @Test func leasesAreFencedAndTakeoversIncrementTheToken() async throws {
        try await withStore { store, _ in
            let a = try #require(try await store.acquireLease("flusher", holder: "a", ttlSeconds: 60))
            #expect(try await store.acquireLease("flusher", holder: "b", ttlSeconds: 60) == nil)
            let renewed = try #require(try await store.acquireLease("flusher", holder: "a", ttlSeconds: 60))
            #expect(renewed.fencingToken == a.fencingToken)
            let b = try #require(try await store.takeOverLease("flusher", from: "a", holder: "b", ttlSeconds: 60))
            #expect(b.fencingToken == a.fencingToken + 1)
            // The stale holder can neither record nor complete a flush.
            let stale = FlushIntent(
                snapshotID: "1", firstPosition: 1, lastPosition: 1, eventCount: 1, chainStart: "", chainHead: "",
                parentSnapshotID: "", cutName: nil, fencingToken: a.fencingToken)
            await #expect(throws: CoordinationError.self) { try await store.recordFlushIntent(stale) }
            var fresh = stale
            fresh.fencingToken = b.fencingToken
            try await store.recordFlushIntent(fresh)
            await #expect(throws: CoordinationError.self) { try await store.completeFlush(stale) }
            try await store.completeFlush(fresh)
            #expect(try await store.flushCursor().position == 1)
            #expect(try await store.pendingFlushIntent() == nil)
            try await store.releaseLease("flusher", holder: "b")
            let c = try #require(try await store.acquireLease("flusher", holder: "c", ttlSeconds: 60))
            #expect(c.fencingToken == b.fencingToken + 1)
        }
    }

    @Test func pruneRespectsTheCursorAndCheckpointsAndKeepsHeads() async throws {
        try await withStore { store, _ in
            _ = try await store.append(AppendRequest(stream: "p-1", events: (0..<10).map { _ in event() }))
            await #expect(throws: CoordinationError.self) { try await store.pruneEvents(upTo: 5) }
            let lease = try #require(try await store.acquireLease("flusher", holder: "f", ttlSeconds: 60))
            let intent = FlushIntent(
                snapshotID: "1", firstPosition: 1, lastPosition: 6, eventCount: 6, chainStart: "", chainHead: "",
                parentSnapshotID: "", cutName: nil, fencingToken: lease.fencingToken)
            try await store.recordFlushIntent(intent)
            try await store.completeFlush(intent)
            try await store.setCheckpoint("projector", position: 4)
            await #expect(throws: CoordinationError.self) { try await store.pruneEvents(upTo: 6) }
            try await store.setCheckpoint("projector", position: 8)
            #expect(try await store.pruneEvents(upTo: 6) == 6)
            #expect(try await store.prunedThrough() == 6)
            // Heads and expectations keep working; a pruned range says where to read it.
            _ = try await store.append(AppendRequest(stream: "p-1", expected: .exact(10), events: [event()]))
            await #expect(throws: CoordinationError.self) {
                try await store.readStream("p-1", fromVersion: 1, limit: 5)
            }
            #expect(try await store.readStream("p-1", fromVersion: 7, limit: 10).map(\.version) == [7, 8, 9, 10, 11])
            await #expect(throws: CoordinationError.self) { try await store.readAll(after: 0, limit: 5) }
            #expect(try await store.readAll(after: 6, limit: 10).first?.position == 7)
            // Every event pruned: positions still continue after the last one handed out, also after a reopen.
            let rest = FlushIntent(
                snapshotID: "2", firstPosition: 7, lastPosition: 11, eventCount: 5, chainStart: "", chainHead: "",
                parentSnapshotID: "1", cutName: nil, fencingToken: lease.fencingToken)
            try await store.recordFlushIntent(rest)
            try await store.completeFlush(rest)
            try await store.setCheckpoint("projector", position: 11)
            #expect(try await store.flushLag() == FlushLag(flushCursor: 11, unflushedCount: 0, prunedThrough: 6))
            #expect(try await store.pruneEvents(upTo: 11) == 5)
            #expect(try await store.status().eventCount == 0)
            #expect(try await store.status().headPosition == 11)
            let next = try await store.append(AppendRequest(stream: "p-2", events: [event()]))
            #expect(next.firstPosition == 12)
            #expect(try await store.flushLag() == FlushLag(flushCursor: 11, unflushedCount: 1, prunedThrough: 11))
        }
    }

    @Test func waitForEventsWakesOnAppend() async throws {
        try await withStore { store, _ in
            let started = ContinuousClock.now
            // A liveness check, not a timing one: without the wake-up the wait would last its full 300 s.
            async let waited: Void = store.waitForEvents(after: 0, timeoutSeconds: 300)
            try await Task.sleep(for: .milliseconds(50))
            _ = try await store.append(AppendRequest(stream: "w-1", events: [event()]))
            try await waited
            #expect(ContinuousClock.now - started < .seconds(120))
        }
    }
}
