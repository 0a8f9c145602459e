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
/// Wake-ups: appends through the same store interrupt a wait at once (a byte on a pipe, written only while
/// someone waits); appends through other stores (other processes) arrive as
/// `NOTIFY lode_archiver_events, '<schema>'` from their ``PostgresNotifier``, on this connection, which
/// `LISTEN`s from the first wait on. Writers that do not notify (SQL run by hand) are noticed by a poll every
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

    /// Called after an append committed: wakes this store's waiters now (a pipe write, when one waits).
    nonisolated func appended() {
        signal.raise()
    }

    /// Waits until a committed event lies above `position`, `timeoutSeconds` pass, or the task is cancelled.
    func wait(after position: Int64, timeoutSeconds: Double) throws {
        let deadline = ContinuousClock.now + .milliseconds(Int64(max(0, timeoutSeconds) * 1000))
        let db = try listeningConnection()
        signal.beginWaiting()
        defer { signal.endWaiting() }
        while !closed {
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

    private func hasCommittedEvent(after position: Int64, _ db: PostgresConnection) throws -> Bool {
        try db.prepared(
            "SELECT EXISTS (SELECT 1 FROM \(schema).events WHERE position > $1)", [String(position)]
        ).bool(0, 0)
    }
}

/// A pipe whose read end interrupts a waiter's `poll`, and how many waits are under way.
private final class WakeSignal: @unchecked Sendable {
    private let lock = NSLock()
    private var waiting = 0
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

    /// Counted before a waiter's first look for events: an append that commits after that look finds the
    /// count raised and writes its byte.
    func beginWaiting() {
        lock.lock()
        waiting += 1
        lock.unlock()
    }

    func endWaiting() {
        lock.lock()
        waiting -= 1
        lock.unlock()
    }

    /// Interrupts the waiters, if any wait.
    func raise() {
        lock.lock()
        defer { lock.unlock() }
        guard waiting > 0 else { return }
        var byte: UInt8 = 1
        _ = write(writeEnd, &byte, 1)
    }

    /// Empties the pipe (its bytes only interrupt).
    func drain() {
        var buffer = [UInt8](repeating: 0, count: 64)
        while read(readEnd, &buffer, buffer.count) > 0 {}
    }
}
