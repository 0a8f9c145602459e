import ArchiverCore
import Foundation
import HTTPTypes
import Hummingbird
import Logging

/// The operator console under `/ui` (docs/CONSOLE.md): server-rendered pages over the same sources as the JSON
/// API, behind the same tokens.
///
/// These routes are not in ``ArchiverAPI/routes`` (the JSON API that docs/openapi.yaml describes); they check
/// tokens themselves because a browser presents them as a cookie. Every form carries the session's CSRF token,
/// and the origin check in front of every route still refuses posts from other origins.
struct ConsoleRoutes: Sendable {
    let api: ArchiverAPI

    /// What a URL query value may hold unescaped (RFC 3986 unreserved characters).
    static let unreserved = CharacterSet(
        charactersIn: "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")

    /// The paths whose POST takes an HTML form body (see ``RequestOriginPolicy``).
    static func acceptsForms(path: String) -> Bool {
        path == "/ui/login" || path == "/ui/logout" || path == "/ui/cuts"
    }

    func register(on router: Router<BasicRequestContext>) {
        router.get("/ui") { request, _ in
            await page(request, .read) { await OverviewPage(api: api, session: $0).render() }
        }
        router.get("/ui/cuts") { request, _ in try await cuts(request) }
        router.post("/ui/cuts") { request, _ in try await createCut(request) }
        router.get("/ui/streams") { request, _ in try await streams(request) }
        router.get("/ui/log") { request, _ in await page(request, .read) { LogPage(api: api, session: $0).render() } }
        router.get("/ui/login") { _, _ in ConsoleResponse.html(.ok, LoginPage().render()) }
        router.post("/ui/login") { request, _ in try await login(request) }
        router.post("/ui/logout") { request, _ in try await logout(request) }
        router.get("/ui/assets/console.css") { _, _ in
            ConsoleResponse.asset("text/css; charset=utf-8", ConsoleAssets.css)
        }
        router.get("/ui/assets/console.js") { _, _ in
            ConsoleResponse.asset("text/javascript; charset=utf-8", ConsoleAssets.javaScript)
        }
        router.get("/ui/assets/favicon.svg") { _, _ in ConsoleResponse.asset("image/svg+xml", ConsoleAssets.favicon) }
    }

    /// The session of `request` holding `scope`, or the response that refuses it: 401 with the sign-in form,
    /// 403 for a token without the scope.
    func session(_ request: Request, _ scope: APIScope) -> Result<ConsoleSession, Refusal> {
        guard let session = ConsoleSession.of(request, authenticator: api.authenticator, key: api.console.csrfKey)
        else {
            api.console.log.record(
                "refused request",
                metadata: ["path": "\(request.uri.path)", "status": "401", "method": "\(request.method.rawValue)"])
            let message: HTML =
                ConsoleSession.presentedToken(request) == nil
                ? "" : "<p class=\"error\" role=\"alert\">That token is not valid; sign in again.</p>"
            return .failure(
                Refusal(
                    response: ConsoleResponse.html(
                        .unauthorized, LoginPage(message: message).render(),
                        headers: [.wwwAuthenticate: #"Bearer realm="archiver""#])))
        }
        guard session.allows(scope) else {
            api.console.log.record("refused request", metadata: ["path": "\(request.uri.path)", "status": "403"])
            let body: HTML = """
                <p class="error" role="alert">Token '\(session.entry?.name ?? "")' lacks the \
                '\(scope.rawValue)' scope.</p>
                """
            let page = ConsoleLayout(title: "Not allowed", section: .overview, csrfToken: session.signOutToken).page(
                body)
            return .failure(Refusal(response: ConsoleResponse.html(.forbidden, page)))
        }
        return .success(session)
    }

    struct Refusal: Error { var response: Response }

    func page(
        _ request: Request, _ scope: APIScope, _ render: (ConsoleSession) async throws -> HTML
    ) async rethrows -> Response {
        switch session(request, scope) {
        case .failure(let refusal): return refusal.response
        case .success(let session): return ConsoleResponse.html(.ok, try await render(session))
        }
    }

    func cuts(_ request: Request) async throws -> Response {
        let created = request.uri.queryParameters["created"].map(String.init)
        return await page(request, .read) { session in
            let notice: HTML =
                created.map { "<p class=\"notice\" role=\"status\" id=\"cut-created\">Cut '\($0)' created.</p>" } ?? ""
            return await CutsPage(api: api, session: session, notice: notice).render()
        }
    }

    func streams(_ request: Request) async throws -> Response {
        let query = request.uri.queryParameters
        let from = query["from"].flatMap { QueryParameter.decimal($0) }.map { max(1, $0) } ?? 1
        return await page(request, .read) { session in
            await StreamPage(api: api, session: session, name: query["name"].map(String.init), from: from).render()
        }
    }
}
