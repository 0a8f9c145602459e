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

/// Fires a ``ShutdownSignal`` when graceful shutdown starts.
struct ShutdownNotifier: Service {
    let signal: ShutdownSignal

    func run() async throws {
        try? await gracefulShutdown()
        signal.fire()
    }
}
