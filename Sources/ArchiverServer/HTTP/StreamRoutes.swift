import ArchiverCore
import Coordination
import CoreMetrics
import Foundation
import HTTPTypes
import Hummingbird
import Metrics
import RawJSON

/// `POST /streams/{stream}/events` (append) and `GET /streams/{stream}` (read one stream). Both answer from
/// hand-written bytes: they are the hot paths.
struct StreamRoutes: Sendable {
    static let append = ArchiverAPI.Route(method: "POST", path: "/streams/{stream}/events", scope: .append)
    static let read = ArchiverAPI.Route(method: "GET", path: "/streams/{stream}", scope: .read)
    static let all = [append, read]

    static let expectedVersionHeader = HTTPField.Name("Expected-Version")!
    static let idempotencyKeyHeader = HTTPField.Name("Idempotency-Key")!
    static let replayedHeader = HTTPField.Name("Idempotent-Replayed")!

    let api: ArchiverAPI

    func register(with registrar: inout RouteRegistrar) {
        registrar.on(Self.append, authorizesItself: true) { request, context in
            try await append(request, stream: try PathParameter.value("stream", in: context))
        }
        registrar.on(Self.read) { request, context in
            try await read(request, stream: try PathParameter.value("stream", in: context))
        }
    }

    // MARK: - Append

    /// The whole body is one atomic append: every event of it is stored, or none.
    func append(_ request: Request, stream: String) async throws -> Response {
        let metrics = api.metrics
        let started = ContinuousClock.now
        defer { metrics.appendDuration.record(duration: ContinuousClock.now - started) }
        do {
            try api.authenticator.authorize(request, .append)
            let expected = try Self.expectedVersion(request.headers[Self.expectedVersionHeader])
            let body = try await collectBody(request)
            let events = try body.withUnsafeReadableBytes { try EventJSON.parseEvents($0) }
            let result = try await api.store.append(
                AppendRequest(
                    stream: stream, expected: expected, idempotencyKey: request.headers[Self.idempotencyKeyHeader],
                    events: events))
            var headers: HTTPFields = [:]
            if result.replayed {
                headers[Self.replayedHeader] = "true"
                metrics.idempotentReplays.increment()
                metrics.appendRequest("replayed")
            } else {
                metrics.appendedEvents.increment(by: result.eventIDs.count)
                metrics.appendRequest("created")
            }
            return JSONResponse.raw(.created, Self.encode(result), headers: headers)
        } catch let error as CoordinationError {
            let apiError = StoreErrors.apiError(error)
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

    /// The documented forms only: `any` (also when absent), `no-stream`, `exists`, or a version in ASCII digits
    /// (`+1` or ` 1e0` are refused, not read as 1).
    static func expectedVersion(_ header: String?) throws -> ExpectedVersion {
        guard let header else { return .any }
        let text = header.trimmingCharacters(in: [" ", "\t"])
        switch text {
        case "any": return .any
        case "no-stream": return .noStream
        case "exists": return .streamExists
        default:
            if let version = QueryParameter.decimal(text) { return version == 0 ? .noStream : .exact(version) }
            throw APIError(
                .unprocessableContent, "invalid-input",
                "Expected-Version '\(header.prefix(40))' is not any, no-stream, exists or a version number (digits)")
        }
    }

    func collectBody(_ request: Request) async throws -> ByteBuffer {
        let limit = api.configuration.maxBodyBytes
        if let length = request.headers[.contentLength].flatMap({ Int($0) }), length > limit {
            throw Self.tooLarge(limit)
        }
        do {
            return try await request.body.collect(upTo: limit)
        } catch let error as any HTTPResponseError where error.status == .contentTooLarge {
            throw Self.tooLarge(limit)
        }
    }

    static func tooLarge(_ limit: Int) -> APIError {
        APIError(
            .contentTooLarge, "too-large",
            "the request body exceeds max-body-bytes (\(limit) bytes): send fewer events per request")
    }

    /// The `result` label of `archiver_append_requests_total`.
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

    // MARK: - Read

    func read(_ request: Request, stream: String) async throws -> Response {
        let query = request.uri.queryParameters
        let from = try QueryParameter.integer(query, "from", default: 1, min: 1)
        let limit = Int(
            try QueryParameter.integer(query, "limit", default: 100, min: 1, max: Int64(ArchiverAPI.maxLimit)))
        let upcaster = try EventPage.upcaster(query, api: api)
        do {
            guard let head = try await api.store.streamHead(stream) else {
                throw APIError(
                    .notFound, "stream-not-found", "stream '\(stream.prefix(255))' has no events",
                    details: .init(stream: stream, version: 0))
            }
            let page = try await api.reader.readStream(stream, fromVersion: from, limit: limit)
            let events = page.events
            var out: [UInt8] = Array(#"{"stream":"#.utf8)
            RawJSON.appendQuoted(stream, to: &out)
            out.append(contentsOf: #","version":\#(head.version),"events":"#.utf8)
            try EventPage.appendEvents(events, upcaster: upcaster, to: &out)
            out.append(contentsOf: #","next_version":\#((events.last?.version ?? from - 1) + 1)}"#.utf8)
            out.append(UInt8(ascii: "\n"))
            return JSONResponse.raw(.ok, out, headers: EventPage.tierHeaders(page.tier))
        } catch let error as CoordinationError {
            throw StoreErrors.apiError(error)
        } catch let error as APIError {
            throw error
        } catch {
            throw StoreErrors.apiError(read: error) ?? error
        }
    }
}
