import Coordination
import Foundation

/// Tells other processes' waiters that events were appended: `NOTIFY lode_archiver_events, '<schema>'`, sent
/// on a connection and thread of its own, never in the append's transaction and never on the write
/// connection.
///
/// The append itself never notifies: a notifying transaction takes a database-wide lock at commit and would
/// serialise every append (migration 0002). Notifications are coalesced: the first append after a quiet spell
/// is announced at once, later ones at most once per `interval`, and the last append of a burst always gets a
/// `NOTIFY` after it. Each `NOTIFY` wakes every listening backend of the server (each reads the queue in a
/// transaction of its own), so one per append would cost the server a transaction per listener per append.
/// The connection never `LISTEN`s, so a process that only appends receives nothing.
actor PostgresNotifier {
    private let executor: StoreThreadExecutor
    nonisolated var unownedExecutor: UnownedSerialExecutor { executor.asUnownedSerialExecutor() }
    private let schema: String
    private let interval: Duration
    private let requests = NotifyRequests()
    private var connection: LazyPostgresConnection
    private var lastSent: ContinuousClock.Instant?

    init(url: String, schema: String, intervalSeconds: Double) {
        self.connection = LazyPostgresConnection(url: url)
        self.schema = schema
        self.interval = .milliseconds(Int64(max(0, intervalSeconds) * 1000))
        self.executor = StoreThreadExecutor(name: "postgres-notify:\(schema)")
    }

    deinit { executor.shutdown() }

    /// Called after an append committed. Cheap: a flag under a lock; only the first append of a quiet spell
    /// starts the task that sends.
    nonisolated func appended() {
        if requests.request() { Task { await self.sendRequested() } }
    }

    func close() {
        connection.close()
    }

    /// Sends a `NOTIFY` while appends keep asking for one, at most one per `interval`.
    private func sendRequested() async {
        while true {
            if let lastSent, ContinuousClock.now < lastSent + interval {
                try? await Task.sleep(until: lastSent + interval)
            }
            guard requests.take() else { return }
            guard !connection.isClosed else { continue }
            send()
            lastSent = .now
        }
    }

    /// One `pg_notify`; a failure drops the connection (the next send reconnects) and is otherwise
    /// ignored: waiters also poll.
    private func send() {
        do {
            try connection.open().query("SELECT pg_notify($1, $2)", [PostgresEventWaiter.channel, schema])
        } catch {
            connection.drop()
        }
    }
}

/// Whether an append asked for a `NOTIFY` that is not sent yet, and whether a task is sending them.
private final class NotifyRequests: @unchecked Sendable {
    private let lock = NSLock()
    private var requested = false
    private var sending = false

    /// Records a request; true when no task is sending (the caller starts one).
    func request() -> Bool {
        lock.lock()
        defer { lock.unlock() }
        requested = true
        if sending { return false }
        sending = true
        return true
    }

    /// Takes the pending request; when there is none the sending task ends (the next request starts one).
    func take() -> Bool {
        lock.lock()
        defer { lock.unlock() }
        if requested {
            requested = false
            return true
        }
        sending = false
        return false
    }
}
