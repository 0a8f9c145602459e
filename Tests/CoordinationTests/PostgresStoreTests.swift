import Coordination
import Foundation
import Testing

@testable import CoordinationPostgres

/// A unique schema in the test database (`ARCHIVER_TEST_POSTGRES_URL`); dropped by ``withPostgres(_:)``.
struct PostgresFixture {
    let url: String
    let schema = "t_" + UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: "").prefix(16)

    func open(waitSeconds: Double = 2, waitPollSeconds: Double = 0.5) async throws -> PostgresCoordinationStore {
        var options = PostgresCoordinationStore.Options()
        options.highWaterMarkWaitSeconds = waitSeconds
        options.waitPollSeconds = waitPollSeconds
        let store = try await PostgresCoordinationStore(url: url, schema: schema, options: options)
        try await store.migrate()
        return store
    }

    /// A second session, outside any store (blocking calls are fine in a test).
    func rawConnection() throws -> PostgresConnection { try PostgresConnection(url: url) }

    /// Appends one event to `gone-1` on `connection` and rolls it back: its position becomes a gap.
    func rollBackAnAppend(on connection: PostgresConnection) throws {
        try connection.execute("BEGIN")
        try connection.query(
            "SELECT out_result FROM \(schema).append('gone-1', 'any', NULL, NULL, $1::uuid[], "
                + "'{T}'::text[], '{\"{}\"}'::json[], '{\"{}\"}'::json[])",
            [PostgresCoordinationStore.arrayLiteral([UUID().uuidString.lowercased()])])
        try connection.execute("ROLLBACK")
    }

    func drop() {
        _ = try? rawConnection().execute("DROP SCHEMA IF EXISTS \(schema) CASCADE")
    }
}

/// Runs `body` with a fresh schema, dropped afterwards. Callers are gated on
/// `.enabled(if: TestServices.postgresURL != nil)`, so a missing server shows as skipped.
func withPostgres(_ body: (PostgresFixture) async throws -> Void) async throws {
    let url = try #require(TestServices.postgresURL, "ARCHIVER_TEST_POSTGRES_URL is not set")
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

/// Serialized: the safe high-water mark waits for every write transaction of the server, so a test that
/// keeps one open on purpose (out-of-order commits) would hold back the reads of tests running beside it.
@Suite(
    .serialized,
    .enabled(if: TestServices.postgresURL != nil, "ARCHIVER_TEST_POSTGRES_URL is not set (scripts/with-services.sh)"))
struct PostgresStoreTests {
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

    /// On a table never analysed (a new store, a bulk import autovacuum has not reached) the page read still
    /// reads the primary key in order and stops at its LIMIT, instead of fetching and sorting the rest of the
    /// table for every page (a flush quadratic in its backlog).
    @Test func pageReadsUseThePrimaryKeyInOrderWithoutStatistics() async throws {
        try await withPostgres { fixture in
            let store = try await fixture.open()
            for batch in 0..<20 {
                let events = (0..<500).map { i in pgEvent("T", #"{"batch":\#(batch),"i":\#(i)}"#) }
                _ = try await store.append(AppendRequest(stream: "big-\(batch)", events: events))
            }
            await store.close()
            let raw = try fixture.rawConnection()
            let tuples = try raw.query(
                "SELECT reltuples FROM pg_class WHERE oid = '\(fixture.schema).events'::regclass")
            #expect(tuples.string(0, 0) == "-1", "the table must not have been analysed for this test")
            let sql = PostgresEventReader(url: fixture.url, schema: fixture.schema).readAllSQL
            let explain =
                "EXPLAIN "
                + sql.replacingOccurrences(of: "$1", with: "5000")
                .replacingOccurrences(of: "$2", with: "10000").replacingOccurrences(of: "$3", with: "500")
            let plain = try raw.query(explain).rows.map { $0[0] ?? "" }.joined(separator: "\n")
            #expect(plain.contains("Bitmap"), "without the reader's setting the planner sorts the range:\n\(plain)")
            try PostgresEventReader.setUp(raw)
            let plan = try raw.query(explain).rows.map { $0[0] ?? "" }.joined(separator: "\n")
            #expect(plan.contains("Index Scan using events_pkey") && !plan.contains("Sort"), "\(plan)")
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

    /// Another instance's append wakes a waiter by NOTIFY: its poll (60 s) is far longer than the wake-up.
    @Test func waitForEventsWakesByNotifyFromAnotherInstance() async throws {
        try await withPostgres { fixture in
            let waiter = try await fixture.open(waitPollSeconds: 60)
            let writer = try await fixture.open()
            let started = ContinuousClock.now
            async let waited: Void = waiter.waitForEvents(after: 0, timeoutSeconds: 300)
            try await Task.sleep(for: .milliseconds(200))
            _ = try await writer.append(AppendRequest(stream: "w-1", events: [pgEvent()]))
            try await waited
            #expect(ContinuousClock.now - started < .seconds(20), "the NOTIFY did not wake the waiter")
            // A position taken by an append that rolled back moves the sequence, not the events: still a wait.
            _ = try fixture.rawConnection().execute("SELECT nextval('\(fixture.schema).positions_seq')")
            let gap = ContinuousClock.now
            try await waiter.waitForEvents(after: 1, timeoutSeconds: 0.3)
            #expect(ContinuousClock.now - gap >= .milliseconds(250), "a sequence gap woke the waiter")
            await waiter.close()
            await writer.close()
        }
    }

    /// Notifications are coalesced during a burst, yet the burst's last append is always announced: a waiter
    /// in another instance (its poll, 60 s, far longer than the test) follows a burst of 40 appends to the end.
    @Test func aBurstOfAppendsEndsWithANotifyForItsLastEvent() async throws {
        try await withPostgres { fixture in
            let waiter = try await fixture.open(waitPollSeconds: 60)
            let writer = try await fixture.open()
            let burst = Task {
                for index in 0..<40 {
                    _ = try await writer.append(AppendRequest(stream: "b-\(index % 3)", events: [pgEvent()]))
                }
            }
            var seen: Int64 = 0
            let started = ContinuousClock.now
            while seen < 40, ContinuousClock.now - started < .seconds(50) {
                try await waiter.waitForEvents(after: seen, timeoutSeconds: 55)
                seen = try await settledMark(waiter, atLeast: seen + 1)
            }
            try await burst.value
            #expect(seen == 40, "a waiter missed the end of the burst")
            #expect(ContinuousClock.now - started < .seconds(30), "a wait lasted until its poll")
            await waiter.close()
            await writer.close()
        }
    }

    /// A wait runs on its own connection: appends and reads through the waiting store go on meanwhile, and the
    /// store's own append wakes it.
    @Test func aWaitDoesNotBlockAppendsOrReadsOfTheSameStore() async throws {
        try await withPostgres { fixture in
            let store = try await fixture.open(waitPollSeconds: 60)
            let started = ContinuousClock.now
            async let waited: Void = store.waitForEvents(after: 0, timeoutSeconds: 300)
            try await Task.sleep(for: .milliseconds(200))
            let appendStarted = ContinuousClock.now
            #expect(try await store.streamHead("w-1") == nil)
            _ = try await store.append(AppendRequest(stream: "w-1", events: [pgEvent()]))
            #expect(ContinuousClock.now - appendStarted < .seconds(10), "the append queued behind the wait")
            try await waited
            #expect(ContinuousClock.now - started < .seconds(20))
            // A wait that times out leaves the store usable.
            try await store.waitForEvents(after: 1, timeoutSeconds: 0.2)
            #expect(try await store.streamHead("w-1")?.version == 1)
            await store.close()
        }
    }

    /// Reads of a stream go on while an append of the same store waits for a row lock held elsewhere: page
    /// reads have their own connection.
    @Test func readsDoNotQueueBehindABlockedAppend() async throws {
        try await withPostgres { fixture in
            let store = try await fixture.open()
            _ = try await store.append(AppendRequest(stream: "l-1", events: [pgEvent()]))
            let raw = try fixture.rawConnection()
            try raw.execute("BEGIN")
            try raw.query("SELECT 1 FROM \(fixture.schema).streams WHERE stream = 'l-1' FOR UPDATE")
            async let blocked = store.append(AppendRequest(stream: "l-1", expected: .exact(1), events: [pgEvent()]))
            try await Task.sleep(for: .milliseconds(300))
            let readStarted = ContinuousClock.now
            #expect(try await store.readStream("l-1", fromVersion: 1, limit: 10).map(\.version) == [1])
            #expect(ContinuousClock.now - readStarted < .seconds(10), "the read queued behind the append")
            try raw.execute("COMMIT")
            #expect(try await blocked.lastVersion == 2)
            #expect(try await store.readStream("l-1", fromVersion: 1, limit: 10).map(\.version) == [1, 2])
            await store.close()
        }
    }

    /// SQLSTATEs of a full disk, exhausted resources and missing privileges map to named codes whose messages
    /// name the fix (a full disk cannot be provoked on a shared test server).
    @Test func serverRefusalsMapToNamedCodes() async throws {
        try await withPostgres { fixture in
            let store = try await fixture.open()
            let cases: [(String, CoordinationError.Code, String)] = [
                ("53100", .storageFull, "ENOSPC"), ("53300", .resourcesExhausted, "max_connections"),
                ("42501", .permissionDenied, "EACCES"), ("40001", .queryFailed, "40001"),
            ]
            for (sqlstate, code, named) in cases {
                let error = store.mapped(PostgresServerError(sqlstate: sqlstate, message: "refused"), "append")
                let mapped = try #require(error as? CoordinationError)
                #expect(mapped.code == code && mapped.message.contains(named), "\(sqlstate): \(mapped.message)")
            }
            // A real 42501: a role without privileges on the schema.
            let raw = try fixture.rawConnection()
            let role = "r_" + fixture.schema
            try raw.execute("CREATE ROLE \(role) LOGIN")
            defer { _ = try? raw.execute("DROP OWNED BY \(role); DROP ROLE \(role)") }
            let limited = try await PostgresCoordinationStore(
                url: fixture.url.replacingOccurrences(of: "postgres@", with: "\(role)@"), schema: fixture.schema)
            do {
                _ = try await limited.append(AppendRequest(stream: "x-1", events: [pgEvent()]))
                Issue.record("a role without privileges appended")
            } catch let error as CoordinationError {
                #expect(error.code == .permissionDenied, "\(error.message)")
            }
            await limited.close()
            await store.close()
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
            try fixture.rollBackAnAppend(on: raw)
            _ = try await store.append(AppendRequest(stream: "fast-1", events: [pgEvent()]))
            #expect(try await settledMark(store, atLeast: 5) == 5)
            #expect(try await store.readAll(after: 3, limit: 10).map(\.position) == [5])
            await store.close()
        }
    }
}
