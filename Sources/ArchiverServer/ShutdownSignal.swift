import Foundation
import ServiceLifecycle
import Synchronization

/// Tells long-running requests (long-polls, event streams) that the server is shutting down, so they end
/// before the HTTP server waits for requests in flight.
///
/// It fires from a service that the `ServiceGroup` shuts down before the application (services shut down
/// in reverse order), because the HTTP server's own graceful shutdown waits for every open request.
public final class ShutdownSignal: Sendable {
    private let fired = Atomic<Bool>(false)

    public init() {}

    public var isFired: Bool { fired.load(ordering: .acquiring) }

    public func fire() { fired.store(true, ordering: .releasing) }
}

/// Fires a ``ShutdownSignal`` when graceful shutdown starts, and arms the overrun watchdog.
struct ShutdownNotifier: Service {
    let signal: ShutdownSignal
    /// Called on a thread of its own when the shutdown is still running this many seconds after it started.
    var overrun: (seconds: Double, action: @Sendable () -> Void)?

    func run() async throws {
        try? await gracefulShutdown()
        signal.fire()
        if let overrun {
            // A thread, not a task: it must fire even when the task pool is stuck on the work that overran.
            Thread.detachNewThread {
                Thread.sleep(forTimeInterval: overrun.seconds)
                overrun.action()
            }
        }
    }
}
