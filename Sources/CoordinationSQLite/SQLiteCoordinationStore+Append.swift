public import Coordination
import Foundation

// EventLog, appends: validated requests committed alone or in groups (see ``GroupCommit``).
extension SQLiteCoordinationStore {
    public func append(_ request: AppendRequest) async throws -> AppendResult {
        try await appendMultiple([request], idempotencyKey: request.idempotencyKey)[0]
    }

    public func appendMultiple(_ requests: [AppendRequest], idempotencyKey: String?) async throws -> [AppendResult] {
        let call = try AppendCall(requests, idempotencyKey: idempotencyKey, limits: options.limits)
        return try await groups.submit(call) { group in commitGroup(group) }
    }

    /// Commits a group of append calls in one transaction (one fsync), each call in a savepoint of its own so
    /// that its conflict or error leaves the others in; wakes this store's waiters after the commit.
    private func commitGroup(_ group: [AppendCall]) -> [Result<[AppendResult], any Error>] {
        let outcome: [Result<[AppendResult], any Error>]
        do {
            let db = try db()
            if group.count == 1 {
                outcome = [.success(try db.transaction { try appendCall(group[0], db) })]
            } else {
                outcome = try db.transaction { try group.map { call in try db.savepoint { try appendCall(call, db) } } }
            }
        } catch {
            return group.map { _ in .failure(error) }
        }
        let committed = outcome.compactMap { try? $0.get().last }.filter { !$0.replayed }.map(\.lastPosition)
        if let last = committed.max() { wake(upTo: last) }
        return outcome
    }

    /// One append call inside the open transaction: its stored result when its idempotency key was seen
    /// before, otherwise its events, stream heads and key.
    private func appendCall(_ call: AppendCall, _ db: SQLiteConnection) throws -> [AppendResult] {
        if let key = call.idempotencyKey, let stored = try storedResults(key, hash: call.requestHash ?? "", db) {
            return stored
        }
        var head = try headPosition(db)
        let now = StoreRecords.nowMicros()
        var results: [AppendResult] = []
        for (request, events) in zip(call.requests, call.validated) {
            results.append(try insert(request, events, after: &head, now: now, db))
        }
        if let key = call.idempotencyKey {
            let encoded = String(decoding: try JSONEncoder().encode(results), as: UTF8.self)
            let remember = try db.statement(
                "INSERT INTO idempotency (key, request_hash, result, created_at) VALUES (?, ?, ?, ?)")
            remember.bind(1, key)
            remember.bind(2, call.requestHash ?? "")
            remember.bind(3, encoded)
            remember.bind(4, now)
            try remember.step()
        }
        return results
    }

    /// The results stored with `key`, marked replayed; nil when the key is new.
    /// - Throws: `.idempotencyConflict` when the key was used for a different request.
    private func storedResults(_ key: String, hash: String, _ db: SQLiteConnection) throws -> [AppendResult]? {
        let lookup = try db.statement("SELECT request_hash, result FROM idempotency WHERE key = ?")
        defer { lookup.reset() }
        lookup.bind(1, key)
        guard try lookup.step() else { return nil }
        guard lookup.string(0) == hash else { throw StoreRules.idempotencyConflict(key: key) }
        return try AppendResult.decodeArray(json: lookup.string(1)).map {
            var result = $0
            result.replayed = true
            return result
        }
    }

    /// Checks `request`'s expectation and inserts its events after position `head` (advanced past them).
    private func insert(
        _ request: AppendRequest, _ events: [ProposedEvent], after head: inout Int64, now: Int64,
        _ db: SQLiteConnection
    ) throws -> AppendResult {
        let current = try streamVersion(request.stream, db)
        try AppendValidation.check(request.expected, actual: current, stream: request.stream)
        let first = head + 1
        var version = current
        let insert = try db.statement(
            "INSERT INTO events (position, stream, version, id, type, data, metadata, recorded_at) "
                + "VALUES (?, ?, ?, ?, ?, ?, ?, ?)")
        for event in events {
            head += 1
            version += 1
            insert.reset()
            insert.bind(1, head)
            insert.bind(2, request.stream)
            insert.bind(3, version)
            insert.bind(4, event.id)
            insert.bind(5, event.type)
            insert.bind(6, event.data)
            insert.bind(7, event.metadata)
            insert.bind(8, now)
            try insert.step()
        }
        let upsert = try db.statement(
            "INSERT INTO streams (stream, version, last_position) VALUES (?, ?, ?) "
                + "ON CONFLICT (stream) DO UPDATE SET version = excluded.version, "
                + "last_position = excluded.last_position")
        upsert.bind(1, request.stream)
        upsert.bind(2, version)
        upsert.bind(3, head)
        try upsert.step()
        return AppendResult(
            stream: request.stream, firstVersion: current + 1, lastVersion: version, firstPosition: first,
            lastPosition: head, eventIDs: events.map { $0.id! }, replayed: false)
    }

    func streamVersion(_ stream: String, _ db: SQLiteConnection) throws -> Int64 {
        let select = try db.statement("SELECT version FROM streams WHERE stream = ?")
        defer { select.reset() }
        select.bind(1, stream)
        return try select.step() ? select.int64(0) : 0
    }

    /// The highest position handed out: the last event's, or, when the events up to it were pruned, the
    /// `head` state row that pruning (and restore) records. Appends do not write the row: one page less per
    /// commit (measured ~7% of a single-event append's time, most of it the WAL write and fsync).
    func headPosition(_ db: SQLiteConnection) throws -> Int64 {
        let select = try db.statement("SELECT max(position) FROM events")
        defer { select.reset() }
        let last = try select.step() && !select.isNull(0) ? select.int64(0) : 0
        return max(last, try readState("head", db))
    }

    func readState(_ name: String, _ db: SQLiteConnection) throws -> Int64 {
        let select = try db.statement("SELECT value FROM state WHERE name = ?")
        defer { select.reset() }
        select.bind(1, name)
        guard try select.step() else { throw StoreRules.notInitialised() }
        return select.int64(0)
    }

    func writeState(_ name: String, _ value: Int64, _ db: SQLiteConnection) throws {
        let update = try db.statement("UPDATE state SET value = ? WHERE name = ?")
        update.bind(1, value)
        update.bind(2, name)
        try update.step()
    }
}
