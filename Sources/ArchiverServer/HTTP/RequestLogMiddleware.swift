import Basics
import Hummingbird
import Logging

/// Logs method, path, status and duration of each request: at debug level normally, at warning for server
/// errors. Never the query string, headers (they carry tokens) or bodies (payloads).
struct RequestLogMiddleware<Context: RequestContext>: RouterMiddleware {
    let logger: Logger
    let metrics: ServerMetrics
    /// The console's log ring, which also lists refused requests (the log has them at debug level only).
    var ring: LogRing? = nil

    func handle(
        _ request: Request, context: Context, next: (Request, Context) async throws -> Response
    ) async throws
        -> Response
    {
        let started = ContinuousClock.now
        do {
            let response = try await next(request, context)
            log(request, status: response.status.code, started: started)
            return response
        } catch let error as any HTTPResponseError {
            log(request, status: error.status.code, started: started)
            if error.status == .unauthorized || error.status == .forbidden {
                metrics.error("unauthorized")
                ring?.record("refused request", metadata: Self.metadata(request, error.status.code, .zero))
            }
            throw error
        } catch {
            log(request, status: 500, started: started)
            metrics.error("internal")
            logger.error("request failed", metadata: ["path": "\(request.uri.path)", "error": "\(type(of: error))"])
            throw error
        }
    }

    func log(_ request: Request, status: Int, started: ContinuousClock.Instant) {
        let elapsed = ContinuousClock.now - started
        // `metadata:` is an autoclosure: nothing is formatted when the level is off.
        if status >= 500 {
            logger.warning("request", metadata: Self.metadata(request, status, elapsed))
        } else {
            logger.debug("request", metadata: Self.metadata(request, status, elapsed))
        }
    }

    static func metadata(_ request: Request, _ status: Int, _ elapsed: Duration) -> Logger.Metadata {
        let milliseconds = elapsed.inSeconds * 1e3
        return [
            "method": "\(request.method.rawValue)", "path": "\(request.uri.path)", "status": "\(status)",
            "duration_ms": "\(Int(milliseconds))",
        ]
    }
}
