import Basics
public import Coordination
import Foundation

// EventLog, reads and waits: pages of events, stream heads, the safe high-water mark, waking waiters.
extension SQLiteCoordinationStore {
    private static let eventColumns = "position, stream, version, id, type, data, metadata, recorded_at"

    private func events(_ statement: SQLiteStatement) throws -> [RecordedEvent] {
        var events: [RecordedEvent] = []
        while try statement.step() {
            events.append(
                RecordedEvent(
                    position: statement.int64(0), stream: statement.string(1), version: statement.int64(2),
                    id: statement.string(3), type: statement.string(4), data: statement.string(5),
                    metadata: statement.string(6), recordedAtNanos: statement.int64(7) * 1000))
        }
        return events
    }

    public func readStream(_ stream: String, fromVersion: Int64, limit: Int) async throws -> [RecordedEvent] {
        let db = try db()
        let select = try db.statement(
            "SELECT \(Self.eventColumns) FROM events WHERE stream = ? AND version >= ? ORDER BY version LIMIT ?")
        select.bind(1, stream)
        select.bind(2, max(1, fromVersion))
        select.bind(3, Int64(limit))
        let found = try events(select)
        try StoreRules.checkReadStream(
            stream, from: max(1, fromVersion), firstFound: found.first?.version,
            streamVersion: try streamVersion(stream, db))
        return found
    }

    public func readAll(after position: Int64, limit: Int) async throws -> [RecordedEvent] {
        try events(try readAllStatement(after: position, limit: limit))
    }

    public func readAllPacked(after position: Int64, limit: Int) async throws -> PackedEvents {
        let select = try readAllStatement(after: position, limit: limit)
        var packed = PackedEvents()
        packed.reserve(min(limit, 1 << 16), bytes: min(limit, 1 << 16) * 512)
        while try select.step() {
            packed.append(
                position: select.int64(0), version: select.int64(2), recordedAtNanos: select.int64(7) * 1000,
                stream: select.bytes(1), id: select.bytes(3), type: select.bytes(4), data: select.bytes(5),
                metadata: select.bytes(6))
        }
        return packed
    }

    private func readAllStatement(after position: Int64, limit: Int) throws -> SQLiteStatement {
        let db = try db()
        try StoreRules.checkReadAll(after: position, prunedThrough: try readState("pruned_through", db))
        let select = try db.statement(
            "SELECT \(Self.eventColumns) FROM events WHERE position > ? ORDER BY position LIMIT ?")
        select.bind(1, position)
        select.bind(2, Int64(limit))
        return select
    }

    public func safeHighWaterMark() async throws -> Int64 {
        try headPosition(try db())
    }

    public func streams(after: String?, limit: Int) async throws -> [StreamHead] {
        let db = try db()
        let select = try db.statement(
            "SELECT stream, version, last_position FROM streams WHERE stream > ? ORDER BY stream LIMIT ?")
        select.bind(1, after ?? "")
        select.bind(2, Int64(limit))
        var heads: [StreamHead] = []
        while try select.step() {
            heads.append(StreamHead(stream: select.string(0), version: select.int64(1), lastPosition: select.int64(2)))
        }
        return heads
    }

    public func streamHead(_ stream: String) async throws -> StreamHead? {
        let db = try db()
        let select = try db.statement("SELECT version, last_position FROM streams WHERE stream = ?")
        defer { select.reset() }
        select.bind(1, stream)
        return try select.step()
            ? StreamHead(stream: stream, version: select.int64(0), lastPosition: select.int64(1)) : nil
    }

    // MARK: - Wake-ups

    public func waitForEvents(after position: Int64, timeoutSeconds: Double) async throws {
        let deadline = ContinuousClock.now + .milliseconds(Int64(timeoutSeconds * 1000))
        while ContinuousClock.now < deadline {
            if try headPosition(try db()) > position { return }
            // Woken at once by appends in this process; other processes are noticed by the poll.
            let poll = min(0.25, max(0, (deadline - ContinuousClock.now).inSeconds))
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                waiters.append((position, continuation))
                let executor = self
                Task {
                    try? await Task.sleep(for: .milliseconds(Int64(poll * 1000)))
                    await executor.timeoutWaiters()
                }
            }
        }
    }

    func wake(upTo position: Int64) {
        let ready = waiters.filter { $0.position < position }
        waiters.removeAll { $0.position < position }
        for waiter in ready { waiter.continuation.resume() }
    }

    private func timeoutWaiters() {
        let all = waiters
        waiters.removeAll()
        for waiter in all { waiter.continuation.resume() }
    }
}
