public import ArchiverCore
public import Coordination
public import Hummingbird
public import Logging

/// The sidecar's HTTP API (see docs/HTTP.md): appends with expected versions and idempotency keys, reads of
/// one stream or of the global order (long-poll or Server-Sent Events), cut points, flushes, probes, metrics.
///
/// The routes are grouped by resource: ``StreamRoutes``, ``EventRoutes``, ``CutRoutes`` and ``ProbeRoutes``.
///
/// ```swift
/// let api = ArchiverAPI(store: store, archive: archive, configuration: config, flushOptions: options)
/// let app = Application(router: api.router(), configuration: .init(address: .hostname("127.0.0.1", port: 8080)))
/// ```
public struct ArchiverAPI: Sendable {
    public let store: any CoordinationStore
    public let archive: Archive
    public let configuration: ServerConfiguration
    public let metrics: ServerMetrics
    public let coordinator: FlushCoordinator
    public let authenticator: TokenAuthenticator
    /// Every read route reads through it: pruned positions from the archive, the rest from the store.
    public let reader: TieredEventReader
    public let logger: Logger
    /// The operator console's samples, log ring and caches (docs/CONSOLE.md).
    public let console: ConsoleState
    /// The rules of archiver.yaml's `upcasters:` section, applied to reads that ask with `?upcast=true`
    /// (docs/REPLAY.md "Upcasting"); nil without a section.
    public var upcaster: Upcaster?
    /// Fired when the server starts shutting down: long-polls return and event streams end.
    public let shutdown = ShutdownSignal()

    public init(
        store: any CoordinationStore, archive: Archive, configuration: ServerConfiguration, flushOptions: FlushOptions,
        metrics: ServerMetrics = ServerMetrics(), logger: Logger = Logger(label: "archiver.serve")
    ) {
        self.store = store
        self.archive = archive
        self.configuration = configuration
        self.metrics = metrics
        console = ConsoleState(archive: archive)
        self.logger = console.log.tee(logger)
        var options = flushOptions
        options.leaseTTLSeconds = configuration.leaseTTL
        if let holder = configuration.holder { options.holder = holder }
        coordinator = FlushCoordinator(
            store: store, archive: archive, options: options, metrics: metrics, logger: self.logger)
        authenticator = TokenAuthenticator(entries: configuration.tokens)
        reader = TieredEventReader(
            store: store,
            cold: ColdEventSource(
                archive: archive, keys: store, cacheBytes: Int64(configuration.coldReadCacheBytes), observer: metrics))
    }

    /// The most events one read returns.
    static let maxLimit = 10_000

    /// Every route the server answers, with the scope its token needs; ``router()`` registers exactly these (a
    /// test compares them with docs/openapi.yaml).
    public static let routes: [Route] = ProbeRoutes.all + StreamRoutes.all + EventRoutes.all + CutRoutes.all

    /// A router with every route of ``routes``, behind request logging and ``RequestOriginPolicy``.
    public func router() -> Router<BasicRequestContext> {
        let router = Router(context: BasicRequestContext.self)
        router.addMiddleware {
            RequestLogMiddleware(logger: logger, metrics: metrics, ring: console.log)
            RequestOriginMiddleware(policy: RequestOriginPolicy(configuration: configuration))
        }
        var registrar = RouteRegistrar(router: router, authenticator: authenticator)
        ProbeRoutes(api: self).register(with: &registrar)
        StreamRoutes(api: self).register(with: &registrar)
        EventRoutes(api: self).register(with: &registrar)
        CutRoutes(api: self).register(with: &registrar)
        ConsoleRoutes(api: self).register(on: router)
        precondition(Set(registrar.registered) == Set(Self.routes), "a route of ArchiverAPI.routes has no handler")
        return router
    }
}
