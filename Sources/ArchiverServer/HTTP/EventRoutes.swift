import ArchiverCore
import Basics
import Coordination
import Foundation
import HTTPTypes
import Hummingbird

/// `GET /events`: the global order as a page (optionally long-polled) or as Server-Sent Events, optionally as
/// a named consumer whose checkpoint the store keeps.
struct EventRoutes: Sendable {
    static let readAll = ArchiverAPI.Route(method: "GET", path: "/events", scope: .read)
    static let all = [readAll]

    /// Longest wait of a long-poll.
    static let maxWaitSeconds: Double = 60
    static let lastEventIDHeader = HTTPField.Name("Last-Event-ID")!

    let api: ArchiverAPI

    func register(with registrar: inout RouteRegistrar) {
        registrar.on(Self.readAll) { request, _ in try await readAll(request) }
    }

    /// Where a read starts, and the consumer whose checkpoint it moves.
    struct Cursor: Sendable {
        var after: Int64
        var consumer: String?
    }

    func readAll(_ request: Request) async throws -> Response {
        let query = request.uri.queryParameters
        let limit = Int(
            try QueryParameter.integer(query, "limit", default: 100, min: 1, max: Int64(ArchiverAPI.maxLimit)))
        let wait = min(try QueryParameter.seconds(query, "wait"), Self.maxWaitSeconds)
        let upcaster = try EventPage.upcaster(query, api: api)
        do {
            let cursor = try await self.cursor(request)
            if request.headers[.accept]?.contains("text/event-stream") == true {
                return serverSentEvents(from: cursor, limit: query["limit"] == nil ? nil : limit, upcaster: upcaster)
            }
            let page = try await page(after: cursor.after, limit: limit, wait: wait)
            if let consumer = cursor.consumer, let last = page.events.last {
                try await api.store.setCheckpoint(consumer, position: last.position)
            }
            return JSONResponse.raw(
                .ok, try EventPage.globalPage(page.events, after: cursor.after, upcaster: upcaster),
                headers: EventPage.tierHeaders(page.tier))
        } catch let error as CoordinationError {
            throw StoreErrors.apiError(error)
        } catch {
            throw StoreErrors.apiError(read: error) ?? error
        }
    }

    /// `after=`, else `Last-Event-ID` (the larger when both are sent), else the consumer's stored checkpoint,
    /// else 0.
    func cursor(_ request: Request) async throws -> Cursor {
        let query = request.uri.queryParameters
        let after = try QueryParameter.optionalInteger(query, "after", min: 0)
        let lastEventID = try Self.lastEventID(request)
        let consumer = try Self.consumer(query)
        if after == nil, lastEventID == nil, let consumer {
            let checkpoint = try await api.store.checkpoints().first { $0.name == consumer }
            return Cursor(after: checkpoint?.position ?? 0, consumer: consumer)
        }
        return Cursor(after: max(after ?? 0, lastEventID ?? 0), consumer: consumer)
    }

    /// - Throws: ``APIError`` 422 unless the header is a position in digits.
    static func lastEventID(_ request: Request) throws -> Int64? {
        guard let text = request.headers[lastEventIDHeader] else { return nil }
        guard let position = QueryParameter.decimal(text.trimmingCharacters(in: [" ", "\t"])) else {
            throw APIError(
                .unprocessableContent, "invalid-input",
                "Last-Event-ID '\(text.prefix(40))' is not a position: send the id of the last event received")
        }
        return position
    }

    /// - Throws: ``APIError`` 422 unless the name is 1–255 bytes without control characters.
    static func consumer(_ query: QueryParameter.Query) throws -> String? {
        guard let name = query["consumer"].map(String.init) else { return nil }
        guard (1...255).contains(name.utf8.count),
            !name.unicodeScalars.contains(where: { $0.properties.generalCategory == .control })
        else {
            throw APIError(
                .unprocessableContent, "invalid-input",
                "query parameter consumer must be a name of 1–255 bytes without control characters")
        }
        return name
    }

    /// A page after `after`; when it is empty and `wait` > 0, waits for events up to `wait` seconds.
    /// Pruned positions come from the archive (``TieredEventReader``).
    func page(after: Int64, limit: Int, wait: Double) async throws -> TieredPage {
        var page = try await api.reader.readAll(after: after, limit: limit)
        guard page.events.isEmpty && wait > 0 else { return page }
        let deadline = ContinuousClock.now + .milliseconds(Int64(wait * 1_000))
        while page.events.isEmpty && ContinuousClock.now < deadline && !api.shutdown.isFired {
            try await waitForEvents(after: after, timeout: min(Self.seconds(until: deadline), 5))
            page = try await api.reader.readAll(after: after, limit: limit)
        }
        return page
    }

    /// Waits for new events, in slices of at most a second so that a shutdown ends the wait soon. A wake-up for
    /// an event that is not yet below the safe high-water mark is followed by a short pause, so waiting never
    /// spins.
    func waitForEvents(after position: Int64, timeout: Double) async throws {
        let deadline = ContinuousClock.now + .milliseconds(Int64(timeout * 1_000))
        while !api.shutdown.isFired && !Task.isCancelled {
            let remaining = Self.seconds(until: deadline)
            guard remaining > 0 else { return }
            let started = ContinuousClock.now
            try await api.store.waitForEvents(after: position, timeoutSeconds: min(remaining, 1))
            if ContinuousClock.now - started < .milliseconds(50) {
                try? await Task.sleep(for: .milliseconds(50))
                return
            }
            if try await api.store.safeHighWaterMark() > position { return }
        }
    }

    static func seconds(until deadline: ContinuousClock.Instant) -> Double {
        (deadline - ContinuousClock.now).inSeconds
    }
}
