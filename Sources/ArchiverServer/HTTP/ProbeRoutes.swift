import ArchiverCore
import Coordination
import Foundation
import Hummingbird
import Lode

/// `GET /health` (liveness), `GET /ready` (readiness) and `GET /metrics` (Prometheus); no token needed.
struct ProbeRoutes: Sendable {
    static let health = ArchiverAPI.Route(method: "GET", path: "/health", scope: nil)
    static let ready = ArchiverAPI.Route(method: "GET", path: "/ready", scope: nil)
    static let metrics = ArchiverAPI.Route(method: "GET", path: "/metrics", scope: nil)
    static let all = [health, ready, metrics]

    let api: ArchiverAPI

    func register(with registrar: inout RouteRegistrar) {
        registrar.on(Self.health) { _, _ in JSONResponse.raw(.ok, Array(#"{"status":"ok"}"#.utf8) + [0x0A]) }
        registrar.on(Self.ready) { request, _ in try await ready(request) }
        registrar.on(Self.metrics) { _, _ in await metrics() }
    }

    /// Flush lag: committed events not yet archived, and the age of the oldest of them.
    /// Probes and scrapes poll this, so it reads an index range (``CoordinationStore/flushLag()``), never a count
    /// of the whole store.
    func lag() async throws -> (status: FlushLag, seconds: Double) {
        let status = try await api.store.flushLag()
        guard status.unflushedCount > 0,
            let oldest = try await api.store.readAll(after: status.flushCursor, limit: 1).first
        else { return (status, 0) }
        let now = Date().timeIntervalSince1970
        return (status, max(0, now - Double(oldest.recordedAtNanos) / 1e9))
    }

    /// Why a check failed is shown only to a caller with a read or admin token: error texts can name file paths
    /// and hosts, and the probe is open to anyone who can reach the port.
    func ready(_ request: Request) async throws -> Response {
        let detailed = api.authenticator.grants(request, .read)
        func failure(_ summary: String, _ error: any Error) -> String {
            detailed ? "\(summary): \(FlushCoordinator.describe(error))" : summary
        }
        var checks = Readiness.Checks()
        var lagEvents: Int64 = 0
        var lagSeconds: Double = 0
        do {
            let (status, seconds) = try await lag()
            (lagEvents, lagSeconds) = (status.unflushedCount, seconds)
            api.metrics.recordStatus(status, lagSeconds: seconds)
        } catch {
            checks.store = failure("unreachable", error)
        }
        let state = await api.coordinator.state
        do {
            _ = try await api.archive.events.head()
            if let error = state.lastError {
                checks.archive = detailed ? "last flush failed: \(error)" : "last flush failed"
            }
        } catch {
            checks.archive = failure("unreadable", error)
        }
        let limits = api.configuration
        if lagEvents > limits.readyMaxLagEvents || lagSeconds > limits.readyMaxLagSeconds {
            checks.flushLag =
                "\(lagEvents) events / \(Int(lagSeconds))s behind (limits \(limits.readyMaxLagEvents) / "
                + "\(Int(limits.readyMaxLagSeconds))s)"
        }
        let readiness = Readiness(
            ready: checks.allOK, checks: checks, unflushedEvents: lagEvents, lagSeconds: Int(lagSeconds),
            flushLeaseHeld: state.holdsLease)
        return try JSONResponse.make(readiness.ready ? .ok : .serviceUnavailable, readiness)
    }

    func metrics() async -> Response {
        if let (status, seconds) = try? await lag() { api.metrics.recordStatus(status, lagSeconds: seconds) }
        return Response(
            status: .ok, headers: [.contentType: "text/plain; version=0.0.4"],
            body: ResponseBody(byteBuffer: ByteBuffer(string: api.metrics.exposition())))
    }
}
