import ArchiveFormat
public import ArchiverCore
public import Coordination
import CoreMetrics
import Foundation
import HTTPTypes
public import Hummingbird
import HummingbirdCore
import Lode
public import Logging
import Metrics
import RawJSON

/// The sidecar's HTTP API (see docs/HTTP.md): appends with expected versions and idempotency keys, reads of
/// one stream or of the global order (long-poll or Server-Sent Events), cut points, flushes, probes, metrics.
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
    public let logger: Logger
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
        self.logger = logger
        var options = flushOptions
        options.leaseTTLSeconds = configuration.leaseTTL
        if let holder = configuration.holder { options.holder = holder }
        coordinator = FlushCoordinator(
            store: store, archive: archive, options: options, metrics: metrics, logger: logger)
        authenticator = TokenAuthenticator(entries: configuration.tokens)
    }

    /// Longest wait of a long-poll, and the most events one read returns.
    static let maxWaitSeconds: Double = 60
    static let maxLimit = 10_000

    /// One route of the API, as docs/openapi.yaml names it.
    public struct Route: Sendable, Hashable {
        public var method: String
        /// OpenAPI form: `/streams/{stream}/events`.
        public var path: String
        /// nil: no token needed (probes and metrics).
        public var scope: APIScope?
    }

    /// Every route the server answers; ``router()`` registers exactly these (a test compares them with
    /// docs/openapi.yaml).
    public static let routes: [Route] = [
        Route(method: "GET", path: "/health", scope: nil),
        Route(method: "GET", path: "/ready", scope: nil),
        Route(method: "GET", path: "/metrics", scope: nil),
        Route(method: "POST", path: "/streams/{stream}/events", scope: .append),
        Route(method: "GET", path: "/streams/{stream}", scope: .read),
        Route(method: "GET", path: "/events", scope: .read),
        Route(method: "GET", path: "/cuts", scope: .read),
        Route(method: "POST", path: "/flush", scope: .admin),
        Route(method: "POST", path: "/cuts/{name}", scope: .admin),
    ]

    public func router() -> Router<BasicRequestContext> {
        let router = Router(context: BasicRequestContext.self)
        router.addMiddleware { RequestLogMiddleware(logger: logger, metrics: metrics) }
        for route in Self.routes {
            // Hummingbird writes parameters as `:name`.
            let path = route.path.replacingOccurrences(of: "{", with: ":").replacingOccurrences(of: "}", with: "")
            router.on(RouterPath(path), method: HTTPRequest.Method(route.method)!) { request, context in
                if route.scope != .append, let scope = route.scope { try authorize(request, scope) }
                return try await respond(to: route, request, context)
            }
        }
        return router
    }

    func respond(to route: Route, _ request: Request, _ context: BasicRequestContext) async throws -> Response {
        switch (route.method, route.path) {
        case ("GET", "/health"): return Self.json(.ok, #"{"status":"ok"}"#)
        case ("GET", "/ready"): return try await ready()
        case ("GET", "/metrics"): return await metricsResponse()
        // Appends authorize inside, so refused requests are counted and timed like the others.
        case ("POST", "/streams/{stream}/events"):
            return try await append(request, stream: try context.parameters.require("stream"))
        case ("GET", "/streams/{stream}"):
            return try await readStream(request, stream: try context.parameters.require("stream"))
        case ("GET", "/events"): return try await readAll(request)
        case ("GET", "/cuts"): return try await cuts(request)
        case ("POST", "/flush"): return try await flush(cutName: nil)
        case ("POST", "/cuts/{name}"): return try await flush(cutName: try context.parameters.require("name"))
        default: throw APIError(.notFound, "not-found", "no route \(route.method) \(route.path)")
        }
    }

    // MARK: - Auth

    /// - Throws: ``APIError`` 401 without a valid bearer token, 403 when its scopes do not include `scope`.
    func authorize(_ request: Request, _ scope: APIScope) throws {
        guard !authenticator.isOpen else { return }
        let challenge: HTTPFields = [.wwwAuthenticate: #"Bearer realm="archiver""#]
        guard let header = request.headers[.authorization], header.count > 7,
            header.prefix(7).lowercased() == "bearer "
        else {
            throw APIError(.unauthorized, "unauthorized", "send Authorization: Bearer TOKEN", headers: challenge)
        }
        let token = String(header.dropFirst(7)).trimmingCharacters(in: .whitespaces)
        guard let entry = authenticator.authenticate(bearer: token) else {
            throw APIError(.unauthorized, "unauthorized", "the bearer token is not valid", headers: challenge)
        }
        guard entry.allows(scope) else {
            throw APIError(
                .forbidden, "insufficient-scope", "token '\(entry.name)' lacks the '\(scope.rawValue)' scope")
        }
    }

    // MARK: - Append

    static let expectedVersionHeader = HTTPField.Name("Expected-Version")!
    static let idempotencyKeyHeader = HTTPField.Name("Idempotency-Key")!
    static let replayedHeader = HTTPField.Name("Idempotent-Replayed")!

    func append(_ request: Request, stream: String) async throws -> Response {
        let started = ContinuousClock.now
        defer { metrics.appendDuration.record(duration: ContinuousClock.now - started) }
        do {
            try authorize(request, .append)
            let expectedText = request.headers[Self.expectedVersionHeader] ?? "any"
            guard let expected = ExpectedVersion(parsing: expectedText.trimmingCharacters(in: .whitespaces)) else {
                throw APIError(
                    .unprocessableContent, "invalid-input",
                    "Expected-Version '\(expectedText.prefix(40))' is not any, no-stream, exists or a number")
            }
            let key = request.headers[Self.idempotencyKeyHeader]
            let limit = configuration.maxBodyBytes
            if let length = request.headers[.contentLength].flatMap({ Int($0) }), length > limit {
                throw Self.tooLarge(limit)
            }
            let body: ByteBuffer
            do {
                body = try await request.body.collect(upTo: limit)
            } catch let error as any HTTPResponseError where error.status == .contentTooLarge {
                throw Self.tooLarge(limit)
            }
            let events = try body.withUnsafeReadableBytes { try EventJSON.parseEvents($0) }
            let result = try await store.append(
                AppendRequest(stream: stream, expected: expected, idempotencyKey: key, events: events))
            var headers: HTTPFields = [.contentType: "application/json"]
            if result.replayed {
                headers[Self.replayedHeader] = "true"
                metrics.idempotentReplays.increment()
                metrics.appendRequest("replayed")
            } else {
                metrics.appendedEvents.increment(by: result.eventIDs.count)
                metrics.appendRequest("created")
            }
            return Response(status: .created, headers: headers, body: Self.body(Self.encode(result)))
        } catch let error as CoordinationError {
            let apiError = Self.apiError(error)
            metrics.appendRequest(Self.outcome(apiError))
            if error.code == .wrongExpectedVersion { metrics.conflicts.increment() }
            metrics.error("\(error.code)")
            throw apiError
        } catch let error as APIError {
            metrics.appendRequest(Self.outcome(error))
            metrics.error(error.kind)
            throw error
        }
    }

    static func tooLarge(_ limit: Int) -> APIError {
        APIError(
            .contentTooLarge, "too-large",
            "the request body exceeds max-body-bytes (\(limit) bytes): send fewer events per request")
    }

    static func outcome(_ error: APIError) -> String {
        switch error.status {
        case .conflict: "conflict"
        case .contentTooLarge: "too_large"
        case .unprocessableContent: "invalid"
        case .unauthorized, .forbidden: "unauthorized"
        default: "error"
        }
    }

    /// `{"stream":…,"first_version":…,"last_version":…,"first_position":…,"last_position":…,"ids":[…]}`; the same
    /// bytes for an idempotent replay as for the original append.
    static func encode(_ result: AppendResult) -> [UInt8] {
        var out: [UInt8] = Array(#"{"stream":"#.utf8)
        RawJSON.appendQuoted(result.stream, to: &out)
        out.append(
            contentsOf: #","first_version":\#(result.firstVersion),"last_version":\#(result.lastVersion),"#.utf8)
        out.append(
            contentsOf: #""first_position":\#(result.firstPosition),"last_position":\#(result.lastPosition),"#.utf8)
        out.append(contentsOf: #""ids":["#.utf8)
        for (i, id) in result.eventIDs.enumerated() {
            if i > 0 { out.append(UInt8(ascii: ",")) }
            RawJSON.appendQuoted(id, to: &out)
        }
        out.append(contentsOf: "]}\n".utf8)
        return out
    }

    /// Maps store errors to statuses: 409 conflict, 422 invalid input, 413 too large, 410 pruned, 503 busy.
    static func apiError(_ error: CoordinationError) -> APIError {
        switch error.code {
        case .wrongExpectedVersion:
            var fields: [(String, String)] = [("actual_version", String(error.actualVersion ?? 0))]
            if let stream = error.stream { fields.append(("stream", quoted(stream))) }
            return APIError(.conflict, "wrong-expected-version", error.message, fields: fields)
        case .idempotencyConflict:
            return APIError(.unprocessableContent, "idempotency-key-reused", error.message)
        case .invalidInput:
            return APIError(.unprocessableContent, "invalid-input", error.message)
        case .eventTooLarge:
            return APIError(.contentTooLarge, "event-too-large", error.message)
        case .prunedRange:
            return APIError(.gone, "pruned", error.message)
        case .busy, .connectionFailed, .closed:
            return APIError(.serviceUnavailable, "store-unavailable", error.message)
        default:
            return APIError(.internalServerError, "\(error.code)", error.message)
        }
    }

    // MARK: - Reads

    func readStream(_ request: Request, stream: String) async throws -> Response {
        let query = request.uri.queryParameters
        let from = try Self.integer(query, "from", default: 1, min: 1)
        let limit = Int(try Self.integer(query, "limit", default: 100, min: 1, max: Int64(Self.maxLimit)))
        do {
            guard let head = try await store.streamHead(stream) else {
                throw APIError(
                    .notFound, "stream-not-found", "stream '\(stream.prefix(255))' has no events",
                    fields: [("stream", Self.quoted(stream)), ("version", "0")])
            }
            let events = try await store.readStream(stream, fromVersion: from, limit: limit)
            var out: [UInt8] = Array(#"{"stream":"#.utf8)
            RawJSON.appendQuoted(stream, to: &out)
            out.append(contentsOf: #","version":\#(head.version),"events":"#.utf8)
            Self.appendEvents(events, to: &out)
            out.append(contentsOf: #","next_version":\#((events.last?.version ?? from - 1) + 1)}"#.utf8)
            out.append(UInt8(ascii: "\n"))
            return Response(status: .ok, headers: [.contentType: "application/json"], body: Self.body(out))
        } catch let error as CoordinationError {
            throw Self.apiError(error)
        }
    }

    func readAll(_ request: Request) async throws -> Response {
        let query = request.uri.queryParameters
        var after = try Self.integer(query, "after", default: 0, min: 0)
        if let lastEventID = request.headers[.lastEventID].flatMap({ Int64($0) }) { after = max(after, lastEventID) }
        let limit = Int(try Self.integer(query, "limit", default: 100, min: 1, max: Int64(Self.maxLimit)))
        if request.headers[.accept]?.contains("text/event-stream") == true {
            return serverSentEvents(after: after, limit: query["limit"] == nil ? nil : limit)
        }
        let wait = min(try Self.seconds(query, "wait"), Self.maxWaitSeconds)
        do {
            var events = try await store.readAll(after: after, limit: limit)
            if events.isEmpty && wait > 0 {
                let deadline = ContinuousClock.now + .milliseconds(Int64(wait * 1_000))
                while events.isEmpty && ContinuousClock.now < deadline && !shutdown.isFired {
                    let remaining = Self.seconds(until: deadline)
                    try await waitForEvents(after: after, timeout: min(remaining, 5))
                    events = try await store.readAll(after: after, limit: limit)
                }
            }
            var out: [UInt8] = Array(#"{"events":"#.utf8)
            Self.appendEvents(events, to: &out)
            out.append(contentsOf: #","last_position":\#(events.last?.position ?? after)}"#.utf8)
            out.append(UInt8(ascii: "\n"))
            return Response(status: .ok, headers: [.contentType: "application/json"], body: Self.body(out))
        } catch let error as CoordinationError {
            throw Self.apiError(error)
        }
    }

    /// Waits for new events, in slices of at most a second so that a shutdown ends the wait soon. A wake-up for
    /// an event that is not yet below the safe high-water mark is followed by a short pause, so waiting never
    /// spins.
    func waitForEvents(after position: Int64, timeout: Double) async throws {
        let deadline = ContinuousClock.now + .milliseconds(Int64(timeout * 1_000))
        while !shutdown.isFired && !Task.isCancelled {
            let remaining = Self.seconds(until: deadline)
            guard remaining > 0 else { return }
            let started = ContinuousClock.now
            try await store.waitForEvents(after: position, timeoutSeconds: min(remaining, 1))
            if ContinuousClock.now - started < .milliseconds(50) {
                try? await Task.sleep(for: .milliseconds(50))
                return
            }
            if try await store.safeHighWaterMark() > position { return }
        }
    }

    /// `text/event-stream`: one `id:`/`event:`/`data:` block per event, a keep-alive comment every 15 s without
    /// events; ends after `limit` events (when given), on graceful shutdown, or when the client goes away.
    /// Reconnecting clients resume with `Last-Event-ID` (the last position they saw).
    func serverSentEvents(after start: Int64, limit: Int?) -> Response {
        let store = self.store
        let body = ResponseBody { writer in
            var position = start
            var sent = 0
            while !Task.isCancelled && !shutdown.isFired {
                let page = try await store.readAll(after: position, limit: min(500, limit.map { $0 - sent } ?? 500))
                if page.isEmpty {
                    try await waitForEvents(after: position, timeout: 15)
                    if try await store.safeHighWaterMark() <= position && !shutdown.isFired {
                        try await writer.write(ByteBuffer(string: ": keep-alive\n\n"))
                    }
                    continue
                }
                var out: [UInt8] = []
                for event in page {
                    out.append(contentsOf: "id: \(event.position)\nevent: ".utf8)
                    out.append(contentsOf: event.type.filter { $0 != "\n" && $0 != "\r" }.utf8)
                    out.append(contentsOf: "\ndata: ".utf8)
                    EventJSON.write(event, to: &out)
                    out.append(contentsOf: "\n\n".utf8)
                }
                try await writer.write(ByteBuffer(bytes: out))
                position = page.last!.position
                sent += page.count
                if let limit, sent >= limit { break }
            }
            try await writer.finish(nil)
        }
        return Response(
            status: .ok, headers: [.contentType: "text/event-stream", .cacheControl: "no-cache"], body: body)
    }

    static func appendEvents(_ events: [RecordedEvent], to out: inout [UInt8]) {
        out.append(UInt8(ascii: "["))
        for (i, event) in events.enumerated() {
            if i > 0 { out.append(UInt8(ascii: ",")) }
            EventJSON.write(event, to: &out)
        }
        out.append(UInt8(ascii: "]"))
    }

    // MARK: - Cuts and flushes

    func cuts(_ request: Request) async throws -> Response {
        let all = request.uri.queryParameters["all"].map { $0 == "true" || $0 == "1" } ?? false
        let cuts: [CutPoint]
        do {
            cuts = try await archive.cutPoints()
        } catch let error as ArchiverError where error.code == .emptyArchive {
            cuts = []
        }
        var out: [UInt8] = Array(#"{"cuts":["#.utf8)
        var first = true
        for cut in cuts where all || cut.name != nil {
            if !first { out.append(UInt8(ascii: ",")) }
            first = false
            out.append(contentsOf: #"{"name":"#.utf8)
            if let name = cut.name { RawJSON.appendQuoted(name, to: &out) } else { out.append(contentsOf: "null".utf8) }
            out.append(contentsOf: #","snapshot":"#.utf8)
            RawJSON.appendQuoted(cut.snapshotID, to: &out)
            out.append(
                contentsOf:
                    #","first_position":\#(cut.facts.firstPosition),"last_position":\#(cut.facts.lastPosition),"#
                    .utf8)
            out.append(contentsOf: #""events":\#(cut.facts.eventCount),"created_at":"#.utf8)
            RawJSON.appendQuoted(cut.manifest.createdAt, to: &out)
            out.append(UInt8(ascii: "}"))
        }
        out.append(contentsOf: "]}\n".utf8)
        return Response(status: .ok, headers: [.contentType: "application/json"], body: Self.body(out))
    }

    func flush(cutName: String?) async throws -> Response {
        let summary: FlushSummary
        do {
            summary = try await coordinator.flush(cutName: cutName)
        } catch let error as ArchiverError where error.code == .flushInProgress {
            throw APIError(.conflict, "lease-held", error.message)
        } catch let error as ArchiverError where error.code == .nothingToFlush {
            throw APIError(.conflict, "nothing-to-flush", error.message)
        } catch let error as ArchiverError {
            throw APIError(.internalServerError, "\(error.code)", error.message)
        } catch let error as CoordinationError {
            throw Self.apiError(error)
        }
        var out: [UInt8] = Array(#"{"events":\#(summary.events),"snapshots":["#.utf8)
        for (i, id) in summary.snapshotIDs.enumerated() {
            if i > 0 { out.append(UInt8(ascii: ",")) }
            RawJSON.appendQuoted(id, to: &out)
        }
        out.append(contentsOf: #"],"last_position":\#(summary.lastPosition),"bytes_in":\#(summary.bytesIn),"#.utf8)
        out.append(contentsOf: #""bytes_out":\#(summary.bytesOut),"cut":"#.utf8)
        if let name = summary.cutName {
            RawJSON.appendQuoted(name, to: &out)
        } else {
            out.append(contentsOf: "null".utf8)
        }
        out.append(contentsOf: "}\n".utf8)
        return Response(
            status: cutName == nil ? .ok : .created, headers: [.contentType: "application/json"], body: Self.body(out))
    }

    // MARK: - Probes and metrics

    /// Flush lag: committed events not yet archived, and the age of the oldest of them.
    /// Probes and scrapes poll this, so it reads an index range (``CoordinationStore/flushLag()``), never a count
    /// of the whole store.
    func lag() async throws -> (status: FlushLag, seconds: Double) {
        let status = try await store.flushLag()
        guard status.unflushedCount > 0, let oldest = try await store.readAll(after: status.flushCursor, limit: 1).first
        else { return (status, 0) }
        let now = Date().timeIntervalSince1970
        return (status, max(0, now - Double(oldest.recordedAtNanos) / 1e9))
    }

    func ready() async throws -> Response {
        var checks: [(String, String)] = []
        var ok = true
        var lagEvents: Int64 = 0
        var lagSeconds: Double = 0
        do {
            let (status, seconds) = try await lag()
            lagEvents = status.unflushedCount
            lagSeconds = seconds
            metrics.recordStatus(status, lagSeconds: seconds)
            checks.append(("store", "ok"))
        } catch {
            ok = false
            checks.append(("store", "unreachable: \(FlushCoordinator.describe(error))"))
        }
        let state = await coordinator.state
        do {
            _ = try await archive.events.head()
            if let error = state.lastError {
                ok = false
                checks.append(("archive", "last flush failed: \(error)"))
            } else {
                checks.append(("archive", "ok"))
            }
        } catch {
            ok = false
            checks.append(("archive", "unreadable: \(FlushCoordinator.describe(error))"))
        }
        if lagEvents > configuration.readyMaxLagEvents || lagSeconds > configuration.readyMaxLagSeconds {
            ok = false
            checks.append(
                (
                    "flush_lag",
                    "\(lagEvents) events / \(Int(lagSeconds))s behind (limits \(configuration.readyMaxLagEvents) / \(Int(configuration.readyMaxLagSeconds))s)"
                ))
        } else {
            checks.append(("flush_lag", "ok"))
        }
        var out: [UInt8] = Array(#"{"ready":\#(ok),"checks":{"#.utf8)
        for (i, (name, value)) in checks.enumerated() {
            if i > 0 { out.append(UInt8(ascii: ",")) }
            RawJSON.appendQuoted(name, to: &out)
            out.append(UInt8(ascii: ":"))
            RawJSON.appendQuoted(value, to: &out)
        }
        out.append(contentsOf: #"},"unflushed_events":\#(lagEvents),"lag_seconds":\#(Int(lagSeconds)),"#.utf8)
        out.append(contentsOf: #""flush_lease_held":\#(state.holdsLease)}"#.utf8)
        out.append(UInt8(ascii: "\n"))
        return Response(
            status: ok ? .ok : .serviceUnavailable, headers: [.contentType: "application/json"], body: Self.body(out))
    }

    func metricsResponse() async -> Response {
        if let (status, seconds) = try? await lag() { metrics.recordStatus(status, lagSeconds: seconds) }
        return Response(
            status: .ok, headers: [.contentType: "text/plain; version=0.0.4"],
            body: ResponseBody(byteBuffer: ByteBuffer(string: metrics.exposition())))
    }

    // MARK: - Helpers

    static func body(_ bytes: [UInt8]) -> ResponseBody { ResponseBody(byteBuffer: ByteBuffer(bytes: bytes)) }

    static func json(_ status: HTTPResponse.Status, _ text: String) -> Response {
        Response(status: status, headers: [.contentType: "application/json"], body: body(Array((text + "\n").utf8)))
    }

    static func quoted(_ s: String) -> String {
        var out: [UInt8] = []
        RawJSON.appendQuoted(s, to: &out)
        return String(decoding: out, as: UTF8.self)
    }

    static func integer(
        _ query: FlatDictionary<Substring, Substring>, _ name: Substring, default value: Int64, min: Int64,
        max: Int64 = .max
    ) throws -> Int64 {
        guard let text = query[name] else { return value }
        guard let n = Int64(text), n >= min else {
            throw APIError(.unprocessableContent, "invalid-input", "query parameter \(name) must be a number ≥ \(min)")
        }
        return Swift.min(n, max)
    }

    static func seconds(_ query: FlatDictionary<Substring, Substring>, _ name: Substring) throws -> Double {
        guard let text = query[name] else { return 0 }
        guard let s = Double(text), s >= 0, s.isFinite else {
            throw APIError(.unprocessableContent, "invalid-input", "query parameter \(name) must be seconds ≥ 0")
        }
        return s
    }

    static func seconds(until deadline: ContinuousClock.Instant) -> Double {
        let d = deadline - ContinuousClock.now
        return Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18
    }
}

extension HTTPField.Name {
    static let lastEventID = HTTPField.Name("Last-Event-ID")!
}
