import Hummingbird

/// Applies ``RequestOriginPolicy`` before any route runs.
struct RequestOriginMiddleware<Context: RequestContext>: RouterMiddleware {
    let policy: RequestOriginPolicy

    func handle(
        _ request: Request, context: Context, next: (Request, Context) async throws -> Response
    )
        async throws -> Response
    {
        try policy.check(
            method: request.method, authority: request.head.authority, headers: request.headers,
            acceptsForms: ConsoleRoutes.acceptsForms(path: request.uri.path))
        return try await next(request, context)
    }
}
