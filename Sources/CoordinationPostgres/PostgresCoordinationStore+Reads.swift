public import Coordination
import Foundation

// EventLog, reads and waits: pages of events, stream heads, the safe high-water mark, waking waiters.
extension PostgresCoordinationStore {
    /// One read-only statement on the state reader's connection (``PostgresStateReader``), with errors mapped.
    nonisolated func read(
        _ context: String, _ sql: String, _ parameters: [String?] = [], prepared: Bool = false
    ) async throws -> PostgresRows {
        do {
            return try await state.rows(sql, parameters, prepared: prepared)
        } catch {
            throw mapped(error, context)
        }
    }

    nonisolated func readState(_ name: String) async throws -> Int64 {
        let rows = try await read("read state", "SELECT value FROM \(schema).state WHERE name = $1", [name])
        guard !rows.isEmpty else { throw StoreRules.notInitialised() }
        return rows.int64(0, 0)
    }

    // Page reads run on the reader's connection (`PostgresEventReader`); what may be read (pruned ranges, the
    // safe high-water mark) is decided on the state reader's (`PostgresStateReader`). Neither waits for an
    // append of this store in progress, so the read-only calls below are nonisolated.
    /// Nonisolated: it needs nothing of the store's connection, so it runs even while an append of this store
    /// waits for a lock.
    public nonisolated func readStream(
        _ stream: String, fromVersion: Int64, limit: Int
    ) async throws
        -> [RecordedEvent]
    {
        let wanted = max(1, fromVersion)
        do {
            let (found, head) = try await reader.stream(stream, from: wanted, limit: limit)
            try StoreRules.checkReadStream(stream, from: wanted, firstFound: found.first?.version, streamVersion: head)
            return found
        } catch {
            throw mapped(error, "read stream")
        }
    }

    public nonisolated func readAll(after position: Int64, limit: Int) async throws -> [RecordedEvent] {
        guard let safe = try await readAllBound(after: position) else { return [] }
        do {
            return try await reader.events(after: position, bound: safe, limit: limit)
        } catch {
            throw mapped(error, "read all")
        }
    }

    public nonisolated func readAllPacked(after position: Int64, limit: Int) async throws -> PackedEvents {
        do {
            // The flusher reads page after page: the page after a full one was sent ahead (same bound).
            if let page = try await reader.readAhead(after: position, limit: limit) { return page }
            guard let safe = try await readAllBound(after: position) else { return PackedEvents() }
            return try await reader.page(after: position, bound: safe, limit: limit)
        } catch {
            throw mapped(error, "read all")
        }
    }

    /// The safe high-water mark when events after `position` may be read; nil when there are none.
    /// - Throws: `.prunedRange` when `position` is below what was pruned.
    private nonisolated func readAllBound(after position: Int64) async throws -> Int64? {
        try StoreRules.checkReadAll(after: position, prunedThrough: try await readState("pruned_through"))
        let safe = try await safeHighWaterMark()
        return safe > position ? safe : nil
    }

    /// The highest position below which no in-flight transaction can still commit (see
    /// ``PostgresStateReader/safeHighWaterMark(waitSeconds:)``); waits up to `options.highWaterMarkWaitSeconds`
    /// for transactions in flight.
    public nonisolated func safeHighWaterMark() async throws -> Int64 {
        do {
            return try await state.safeHighWaterMark(waitSeconds: options.highWaterMarkWaitSeconds)
        } catch {
            throw mapped(error, "read the safe high-water mark")
        }
    }

    public nonisolated func streams(after: String?, limit: Int) async throws -> [StreamHead] {
        let rows = try await read(
            "list streams",
            "SELECT stream, version, last_position FROM \(schema).streams WHERE stream > $1 AND version > 0 "
                + "ORDER BY stream LIMIT $2", [after ?? "", String(limit)])
        return (0..<rows.count).map {
            StreamHead(stream: rows.string($0, 0), version: rows.int64($0, 1), lastPosition: rows.int64($0, 2))
        }
    }

    public nonisolated func streamHead(_ stream: String) async throws -> StreamHead? {
        let rows = try await read(
            "read stream head",
            "SELECT version, last_position FROM \(schema).streams WHERE stream = $1 AND version > 0", [stream])
        return rows.isEmpty
            ? nil : StreamHead(stream: stream, version: rows.int64(0, 0), lastPosition: rows.int64(0, 1))
    }

    // MARK: - Wake-ups

    /// Waits on the waiter's own connection and thread (``PostgresEventWaiter``): appends and reads through
    /// this store run meanwhile. Woken at once by this store's appends, by other stores' `NOTIFY`, and
    /// otherwise by a poll every `options.waitPollSeconds`.
    public func waitForEvents(after position: Int64, timeoutSeconds: Double) async throws {
        _ = try db()
        do {
            try await waiter.wait(after: position, timeoutSeconds: timeoutSeconds)
        } catch {
            throw mapped(error, "wait for events")
        }
    }
}
