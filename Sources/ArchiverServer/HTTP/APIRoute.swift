import Foundation
import HTTPTypes
import Hummingbird

extension ArchiverAPI {
    /// One route of the API, as docs/openapi.yaml names it.
    public struct Route: Sendable, Hashable, CustomStringConvertible {
        public var method: String
        /// OpenAPI form: `/streams/{stream}/events`.
        public var path: String
        /// nil: no token needed (probes and metrics).
        public var scope: APIScope?

        public var description: String { "\(method) \(path)" }

        /// The path as Hummingbird's router writes parameters: `/streams/:stream/events`.
        var routerPath: RouterPath {
            RouterPath(path.replacingOccurrences(of: "{", with: ":").replacingOccurrences(of: "}", with: ""))
        }
    }
}

/// What a route collection registers its handlers with: only routes of ``ArchiverAPI/routes``, each with the
/// token check of its scope in front, so the list in ``ArchiverAPI`` stays the one description of routes and
/// scopes.
struct RouteRegistrar {
    typealias Handler = @Sendable (Request, BasicRequestContext) async throws -> Response

    let router: Router<BasicRequestContext>
    let authenticator: TokenAuthenticator
    private(set) var registered: [ArchiverAPI.Route] = []

    init(router: Router<BasicRequestContext>, authenticator: TokenAuthenticator) {
        self.router = router
        self.authenticator = authenticator
    }

    /// Registers `handler` for `route`.
    /// - Parameter authorizesItself: the handler checks the token itself (appends do, so that refused requests
    ///   are counted and timed like the others).
    mutating func on(_ route: ArchiverAPI.Route, authorizesItself: Bool = false, _ handler: @escaping Handler) {
        precondition(ArchiverAPI.routes.contains(route), "\(route) is not listed in ArchiverAPI.routes")
        precondition(!registered.contains(route), "\(route) is registered twice")
        let authenticator = self.authenticator
        router.on(route.routerPath, method: HTTPRequest.Method(route.method)!) { request, context in
            if !authorizesItself, let scope = route.scope { try authenticator.authorize(request, scope) }
            return try await handler(request, context)
        }
        registered.append(route)
    }
}
