import Coordination
import Foundation
import Testing

@testable import CoordinationPostgres

extension PostgresStoreTests {
    /// An append waiting for a stream row that another session holds does not hold up the store's read-only
    /// calls: status, the stream's head, the stream list, the flush lag and cursor answer meanwhile (status
    /// within the safe mark's wait, here 0.5 s), with the values from before the append, and the append lands
    /// once the row is released. (The holding session ends itself after 60 s idle, so a store whose reads queue
    /// behind the append fails here instead of hanging. The bounds are wide because the test process's other
    /// suites can keep its task threads busy for seconds; reads queued behind the append would take the full 60 s.)
    @Test func readOnlyCallsAnswerWhileAnAppendWaitsForARowLock() async throws {
        try await withPostgres { fixture in
            let store = try await fixture.open(waitSeconds: 0.5)
            _ = try await store.append(AppendRequest(stream: "held", events: [event()]))
            #expect(try await settledMark(store, atLeast: 1) == 1)
            let before = try await store.status()
            let blocker = try fixture.rawConnection()
            try blocker.execute("SET idle_in_transaction_session_timeout = '60s'")
            try blocker.execute("BEGIN")
            try blocker.execute("SELECT version FROM \(fixture.schema).streams WHERE stream = 'held' FOR UPDATE")
            // On the store's own thread, so that the append reaches PostgreSQL even while other suites keep the
            // shared task threads busy.
            let append = Task(executorPreference: store.taskExecutor) {
                try await store.append(AppendRequest(stream: "held", expected: .exact(1), events: [event()]))
            }
            try await waitUntilBlocking(blocker)
            let clock = ContinuousClock()
            let start = clock.now
            let status = try await store.status()
            let head = try await store.streamHead("held")
            let streams = try await store.streams(after: nil, limit: 10)
            let lag = try await store.flushLag()
            let cursor = try await store.flushCursor()
            let elapsed = clock.now - start
            try blocker.execute("COMMIT")
            let appended = try await append.value
            #expect(elapsed < .seconds(20), "read-only calls took \(elapsed) beside a waiting append")
            // The mark never goes backwards and cannot pass the waiting append's uncommitted position.
            #expect(status.safeHighWaterMark == 1 && status.headPosition >= before.headPosition)
            #expect(status.eventCount == 1 && status.streamCount == 1 && status.unflushedCount == 1)
            #expect(head == StreamHead(stream: "held", version: 1, lastPosition: before.headPosition))
            #expect(streams.map(\.stream) == ["held"])
            #expect(lag.unflushedCount == 1 && lag.flushCursor == 0 && cursor.position == 0)
            #expect(appended.lastVersion == 2)
            #expect(try await store.streamHead("held")?.version == 2)
            #expect(try await store.status().eventCount == 2)
            await store.close()
        }
    }
}

/// Returns once another session waits for a lock that `blocker` holds (at most 30 s).
private func waitUntilBlocking(_ blocker: PostgresConnection) async throws {
    let deadline = ContinuousClock.now + .seconds(30)
    while ContinuousClock.now < deadline {
        let waiting = try blocker.query(
            "SELECT count(*) FROM pg_stat_activity WHERE pg_backend_pid() = ANY(pg_blocking_pids(pid))")
        if waiting.int64(0, 0) > 0 { return }
        try await Task.sleep(for: .milliseconds(20))
    }
    Issue.record("the append never waited for the held row")
}
