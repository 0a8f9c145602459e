public import ArchiverCore
public import Coordination
import Foundation
import Hummingbird
public import Logging
import NIOCore
import ServiceLifecycle
import UnixSignals

/// `archiver serve`: the HTTP API, the flush schedule and the optional compaction schedule as services of one `ServiceGroup` that shuts down
/// gracefully on SIGTERM and SIGINT.
///
/// Shutdown order: the HTTP server stops accepting connections and finishes the requests in flight (appends
/// complete; long-polls and event streams end early), then the flush schedule finishes a pass in progress and
/// runs one last pass (what was appended since the previous pass is archived) and releases the flush lease. Work
/// still running after `shutdown-deadline` seconds is cancelled; an abandoned flush leaves an intent that the next
/// flusher completes, so the archive never holds half a snapshot. ``run(onListening:)`` returns what the last pass
/// did.
///
/// ```swift
/// let sidecar = Sidecar(store: store, archive: archive, configuration: config, flushOptions: options)
/// let finalFlush = try await sidecar.run { address in print("listening on \(address)") }
/// if finalFlush.leftEventsBehind { exit(14) }
/// ```
public struct Sidecar: Sendable {
    /// Settable before ``run(onListening:)``, which builds the router from it (e.g. its `upcaster`).
    public var api: ArchiverAPI
    public let logger: Logger
    /// Restore drills on a schedule (`--drill-every`); nil: none.
    public var drillSchedule: DrillSchedule?
    /// Called (on a thread of its own) when the shutdown is still running ``shutdownOverrunGrace`` seconds after
    /// `shutdown-deadline`: a request or task ignored cancellation. `archiver serve` logs it and exits 14 rather
    /// than let the service group abort the process. Nil: the group's own limit applies.
    public var onShutdownOverrun: (@Sendable () -> Void)?
    /// Seconds after `shutdown-deadline` before ``onShutdownOverrun``, shorter than the group's cancellation limit.
    public static let shutdownOverrunGrace = 4.0

    public init(
        store: any CoordinationStore, archive: Archive, configuration: ServerConfiguration, flushOptions: FlushOptions,
        logger: Logger
    ) {
        api = ArchiverAPI(
            store: store, archive: archive, configuration: configuration, flushOptions: flushOptions, logger: logger)
        self.logger = api.logger  // also into the console's log ring
    }

    /// Runs until SIGTERM or SIGINT.
    /// - Parameter onListening: called with `http://HOST:PORT` once the socket is bound (port 0 picks a free one).
    /// - Returns: what the flush schedule's last pass did (``FinalFlush/Outcome/notRun`` without a schedule).
    @discardableResult
    public func run(onListening: @escaping @Sendable (String) -> Void) async throws -> FinalFlush.Outcome {
        let configuration = api.configuration
        let finalFlush = FinalFlush()
        var services: [any Service] = [ConsoleSampler(api: api, interval: configuration.consoleSampleInterval)]
        if configuration.flushInterval > 0 {
            services.append(
                FlushScheduler(
                    coordinator: api.coordinator, store: api.store, interval: configuration.flushInterval,
                    idempotencyRetention: AppendLimits().idempotencyRetentionSeconds, metrics: api.metrics,
                    finalFlush: finalFlush, logger: logger))
        }
        if configuration.compactEvery > 0 {
            var options = CompactionOptions(
                producer: api.coordinator.options.producer, holder: configuration.holder,
                spoolDirectory: api.coordinator.options.spoolDirectory)
            options.targetBytes = Int64(configuration.compactTargetBytes)
            options.zstdLevel = configuration.compactZstdLevel.map(Int32.init)
            services.append(
                CompactScheduler(
                    archive: api.archive, store: api.store, interval: configuration.compactEvery, options: options,
                    metrics: api.metrics, logger: logger))
        }
        if let drillSchedule {
            services.append(
                DrillScheduler(
                    archive: api.archive, store: api.store, schedule: drillSchedule, metrics: api.metrics,
                    logger: logger))
        }
        let app = Application(
            router: api.router(),
            configuration: ApplicationConfiguration(
                address: .hostname(configuration.host, port: configuration.port), serverName: nil),
            services: services,
            onServerRunning: { channel in
                let port = channel.localAddress?.port ?? configuration.port
                let host = configuration.host.contains(":") ? "[\(configuration.host)]" : configuration.host
                onListening("http://\(host):\(port)")
            },
            logger: logger)
        // Reverse order at shutdown: the notifier first (long-polls and event streams end), then the app (the
        // server drains requests in flight, then the flush schedule stops).
        let notifier = ShutdownNotifier(
            signal: api.shutdown,
            overrun: onShutdownOverrun.map { (configuration.shutdownDeadline + Self.shutdownOverrunGrace, $0) })
        var groupConfiguration = ServiceGroupConfiguration(
            services: [app, notifier], gracefulShutdownSignals: [.sigterm, .sigint], logger: logger)
        groupConfiguration.maximumGracefulShutdownDuration = .milliseconds(
            Int64(configuration.shutdownDeadline * 1_000))
        // Longer than the overrun grace, so a shutdown that hangs ends through the watchdog's clear message and
        // exit 14 rather than the service group's own abort.
        groupConfiguration.maximumCancellationDuration = .milliseconds(Int64((Self.shutdownOverrunGrace + 1) * 1_000))
        try await ServiceGroup(configuration: groupConfiguration).run()
        return finalFlush.outcome
    }
}
