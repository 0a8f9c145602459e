import Coordination
import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Waits for committed events on a PostgreSQL connection and thread of its own, so that a waiter never
/// holds the store's connection: appends and reads issued during a wait run at once.
///
/// Wake-ups: appends through the same store interrupt a wait at once (a byte on a pipe); appends through
/// other stores (other processes) arrive as `NOTIFY lode_archiver_events, '<schema>'`, which every store sends
/// on this connection after its appends commit, at most one per wait slice. The append itself never
/// notifies: a notifying transaction takes a database-wide lock at commit and would serialise every append
/// (migration 0002). Writers that do not notify (SQL run by hand) are noticed by a poll every
/// `pollSeconds`.
actor PostgresEventWaiter {
    static let channel = "lode_archiver_events"

    private let executor: StoreThreadExecutor
    nonisolated var unownedExecutor: UnownedSerialExecutor { executor.asUnownedSerialExecutor() }
    private let url: String
    private let schema: String
    private let pollSeconds: Double
    private let signal: WakeSignal
    private var connection: PostgresConnection?
    private var closed = false

    init(url: String, schema: String, pollSeconds: Double) {
        self.url = url
        self.schema = schema
        self.pollSeconds = pollSeconds
        self.signal = WakeSignal()
        self.executor = StoreThreadExecutor(name: "postgres-wait:\(schema)")
    }

    deinit { executor.shutdown() }

    /// Called after an append committed: wakes this process's waiters now and has other processes' waiters
    /// notified. Cheap: a pipe write; the first append since the last `NOTIFY` also schedules one.
    nonisolated func appended() {
        if signal.raise() { Task { try? await self.sendPendingNotify() } }
    }

    /// Waits until a committed event lies above `position`, `timeoutSeconds` pass, or the task is cancelled.
    func wait(after position: Int64, timeoutSeconds: Double) throws {
        let deadline = ContinuousClock.now + .milliseconds(Int64(max(0, timeoutSeconds) * 1000))
        let db = try listeningConnection()
        while !closed {
            try sendPendingNotify()
            // A committed event, not the sequence moving: a rolled-back append leaves a position above every
            // committed event, and waiters (flush --watch, subscriptions) would spin on it.
            if try hasCommittedEvent(after: position, db) { return }
            let remaining = deadline - ContinuousClock.now
            if remaining <= .zero || Task.isCancelled { return }
            let slice = min(remaining, .milliseconds(Int64(pollSeconds * 1000)))
            let milliseconds = slice.components.seconds * 1000 + slice.components.attoseconds / 1_000_000_000_000_000
            _ = try db.awaitNotifications(timeoutMilliseconds: Int32(max(1, milliseconds)), interrupt: signal.readEnd)
            signal.drain()
        }
    }

    func close() {
        closed = true
        connection = nil
    }

    /// The connection, opened and listening on first use.
    private func listeningConnection() throws -> PostgresConnection {
        if closed { throw StoreRules.closed() }
        if let connection {
            try connection.ensureConnected()
            return connection
        }
        let connection = try PostgresConnection(url: url)
        try connection.execute("LISTEN \(Self.channel)")
        self.connection = connection
        return connection
    }

    /// Sends the `NOTIFY` an append asked for, if any (its own short transaction, on this connection).
    private func sendPendingNotify() throws {
        guard signal.takeNotifyRequest(), !closed else { return }
        let db = try listeningConnection()
        try db.query("SELECT pg_notify($1, $2)", [Self.channel, schema])
    }

    private func hasCommittedEvent(after position: Int64, _ db: PostgresConnection) throws -> Bool {
        try db.prepared(
            "SELECT EXISTS (SELECT 1 FROM \(schema).events WHERE position > $1)", [String(position)]
        ).bool(0, 0)
    }
}

/// A pipe whose read end interrupts a waiter's `poll`, and whether an append still wants a `NOTIFY` sent.
private final class WakeSignal: @unchecked Sendable {
    private let lock = NSLock()
    private var notifyRequested = false
    let readEnd: Int32
    private let writeEnd: Int32

    init() {
        var ends: [Int32] = [-1, -1]
        _ = pipe(&ends)
        for end in ends { _ = fcntl(end, F_SETFL, fcntl(end, F_GETFL) | O_NONBLOCK) }
        readEnd = ends[0]
        writeEnd = ends[1]
    }

    deinit {
        close(readEnd)
        close(writeEnd)
    }

    /// Interrupts a waiter; true when this is the first request for a `NOTIFY` since the last was sent.
    func raise() -> Bool {
        var byte: UInt8 = 1
        _ = write(writeEnd, &byte, 1)
        lock.lock()
        defer { lock.unlock() }
        let first = !notifyRequested
        notifyRequested = true
        return first
    }

    func takeNotifyRequest() -> Bool {
        lock.lock()
        defer { lock.unlock() }
        let requested = notifyRequested
        notifyRequested = false
        return requested
    }

    /// Empties the pipe (its bytes only interrupt).
    func drain() {
        var buffer = [UInt8](repeating: 0, count: 64)
        while read(readEnd, &buffer, buffer.count) > 0 {}
    }
}
