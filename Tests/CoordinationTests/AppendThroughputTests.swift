import Coordination
import Foundation
import Testing

@testable import CoordinationPostgres
@testable import CoordinationSQLite

/// Opt-in throughput figures for single-event appends on PostgreSQL, each next to a reference measured in
/// the same run: 8 plain connections inserting the same rows one per transaction (what psql does). Set
/// `ARCHIVER_AB_APPENDS` to the events per client (e.g. 500) and run against a durable server
/// (`ARCHIVER_PG_DURABLE=1 scripts/with-services.sh`); ratios, not absolute numbers, compare between builds.
let throughputEventsPerClient = Int(ProcessInfo.processInfo.environment["ARCHIVER_AB_APPENDS"] ?? "") ?? 0

@Suite(
    .serialized,
    .enabled(
        if: TestServices.postgresURL != nil && throughputEventsPerClient > 0,
        "set ARCHIVER_AB_APPENDS and ARCHIVER_TEST_POSTGRES_URL"))
struct AppendThroughputTests {
    static let eventsPerClient = throughputEventsPerClient
    static let clients = 8

    /// 8 store instances (as 8 processes would be), each appending its own events one call at a time.
    @Test func eightStoresAppendingSingleEvents() async throws {
        try await withPostgres { fixture in
            let stores = try await (0..<Self.clients).asyncMap { _ in try await fixture.open() }
            let commits = try CommitCounter(url: fixture.url)
            let started = ContinuousClock.now
            try await withThrowingTaskGroup(of: Void.self) { group in
                for (client, store) in stores.enumerated() {
                    group.addTask { try await Self.appendSingles(store, client: client) }
                }
                try await group.waitForAll()
            }
            let ours = ContinuousClock.now - started
            for store in stores { await store.close() }
            let perAppend = try commits.delta() / Double(Self.clients * Self.eventsPerClient)
            let reference = try Self.referenceInserts(fixture)
            Self.report("8 stores, single events", ours: ours, reference: reference, commitsPerAppend: perAppend)
        }
    }

    /// 8 tasks appending one event each call through one store instance (as `serve` does for HTTP clients),
    /// with commits shared (the default) and with every call committed alone (`maxCalls: 1`).
    @Test(arguments: [GroupCommit(), GroupCommit(maxCalls: 1)])
    func eightTasksOnOneStoreAppendingSingleEvents(groupCommit: GroupCommit) async throws {
        try await withPostgres { fixture in
            var options = PostgresCoordinationStore.Options()
            options.groupCommit = groupCommit
            let store = try await PostgresCoordinationStore(url: fixture.url, schema: fixture.schema, options: options)
            try await store.migrate()
            let commits = try CommitCounter(url: fixture.url)
            let ours = try await Self.eightTasks(on: store)
            await store.close()
            let perAppend = try commits.delta() / Double(Self.clients * Self.eventsPerClient)
            let reference = try Self.referenceInserts(fixture)
            Self.report(
                "8 tasks on one store, up to \(groupCommit.maxCalls) calls per commit", ours: ours,
                reference: reference, commitsPerAppend: perAppend)
        }
    }

    /// The same on SQLite (synchronous=full), commits counted by SQLite's commit hook; the reference is the
    /// same store committing every call alone.
    @Test func eightTasksOnOneSQLiteStore() async throws {
        var figures: [(Duration, Double)] = []
        for groupCommit in [GroupCommit(), GroupCommit(maxCalls: 1)] {
            let fixture = try StoreFixture()
            defer { fixture.remove() }
            var options = SQLiteCoordinationStore.Options()
            options.groupCommit = groupCommit
            let store = try await SQLiteCoordinationStore(path: fixture.path, options: options)
            try await store.migrate()
            try await store.countCommitsForTesting()
            let elapsed = try await Self.eightTasks(on: store)
            let perAppend = Double(try await store.commitsForTesting()) / Double(Self.clients * Self.eventsPerClient)
            await store.close()
            figures.append((elapsed, perAppend))
        }
        let ratio = figures[1].0.seconds / figures[0].0.seconds
        print(
            "append A/B, SQLite, 8 tasks on one store: grouped \(String(format: "%.2f", ratio))x of alone; "
                + "commits per append \(String(format: "%.2f", figures[0].1)) grouped, "
                + "\(String(format: "%.2f", figures[1].1)) alone")
    }

    private static func eightTasks(on store: any EventLog) async throws -> Duration {
        let started = ContinuousClock.now
        try await withThrowingTaskGroup(of: Void.self) { group in
            for client in 0..<Self.clients {
                group.addTask { try await Self.appendSingles(store, client: client) }
            }
            try await group.waitForAll()
        }
        return ContinuousClock.now - started
    }

    private static func appendSingles(_ store: any EventLog, client: Int) async throws {
        for index in 0..<eventsPerClient {
            _ = try await store.append(
                AppendRequest(
                    stream: "c\(client)-\(index % 50)",
                    events: [ProposedEvent(type: "Deposited", data: #"{"amount":\#(index)}"#)]))
        }
    }

    /// The same number of single-row INSERT transactions from 8 threads on plain connections.
    private static func referenceInserts(_ fixture: PostgresFixture) throws -> Duration {
        let table = "\(fixture.schema).raw_events"
        try fixture.rawConnection().execute(
            "CREATE TABLE \(table) (position bigserial PRIMARY KEY, stream text NOT NULL, version bigint NOT NULL, "
                + "type text NOT NULL, data json NOT NULL, UNIQUE (stream, version))")
        let connections = UncheckedConnections(try (0..<clients).map { _ in try fixture.rawConnection() })
        let started = ContinuousClock.now
        DispatchQueue.concurrentPerform(iterations: clients) { client in
            for index in 0..<eventsPerClient {
                _ = try? connections.all[client].query(
                    "INSERT INTO \(table) (stream, version, type, data) VALUES ($1, $2, 'Deposited', $3)",
                    ["c\(client)-\(index % 50)", String(index), #"{"amount":\#(index)}"#])
            }
        }
        return ContinuousClock.now - started
    }

    private static func report(_ label: String, ours: Duration, reference: Duration, commitsPerAppend: Double) {
        let total = Double(clients * eventsPerClient)
        let oursRate = total / ours.seconds
        let referenceRate = total / reference.seconds
        print(
            "append A/B, \(label): \(Int(oursRate)) events/s, reference \(Int(referenceRate)) events/s, "
                + "ratio \(String(format: "%.2f", oursRate / referenceRate)), "
                + "commits per append \(String(format: "%.2f", commitsPerAppend))")
    }
}

/// Plain connections, each used by one thread only.
private struct UncheckedConnections: @unchecked Sendable {
    let all: [PostgresConnection]
    init(_ all: [PostgresConnection]) { self.all = all }
}

/// The database's committed transactions (`pg_stat_database.xact_commit`), before and after some work.
struct CommitCounter {
    private let connection: PostgresConnection
    private let start: Int64

    init(url: String) throws {
        connection = try PostgresConnection(url: url)
        start = try Self.read(connection)
    }

    /// Commits since `init`, less this counter's own reads.
    func delta() throws -> Double {
        // A backend reports its counts when it ends (the stores are closed by now) or at most once a second.
        Thread.sleep(forTimeInterval: 1.5)
        return Double(try Self.read(connection) - start)
    }

    private static func read(_ connection: PostgresConnection) throws -> Int64 {
        try connection.query("SELECT xact_commit FROM pg_stat_database WHERE datname = current_database()").int64(0, 0)
    }
}

extension Duration {
    var seconds: Double { Double(components.seconds) + Double(components.attoseconds) / 1e18 }
}

extension Sequence {
    func asyncMap<T>(_ transform: (Element) async throws -> T) async rethrows -> [T] {
        var results: [T] = []
        for element in self { results.append(try await transform(element)) }
        return results
    }
}
