import ArchiverCore
import Foundation
import HTTPTypes
import Hummingbird

/// The console's form posts: sign in, sign out, create a cut.
extension ConsoleRoutes {
    /// Checks the token and stores it in the session cookie; the form is shown again when it is not valid.
    func login(_ request: Request) async throws -> Response {
        let form = try await FormBody.read(request)
        let token = (form["token"] ?? "").trimmingCharacters(in: .whitespaces)
        guard !api.authenticator.isOpen else { return ConsoleResponse.redirect("/ui") }
        guard let entry = api.authenticator.authenticate(bearer: token), entry.allows(.read) else {
            api.console.log.record("console sign-in refused")
            let message: HTML = "<p class=\"error\" role=\"alert\">That token is not valid or lacks the read scope.</p>"
            return ConsoleResponse.html(.unauthorized, LoginPage(message: message).render())
        }
        return ConsoleResponse.redirect("/ui", headers: [.setCookie: ConsoleSession.cookie(token: token)])
    }

    func logout(_ request: Request) async throws -> Response {
        let form = try await FormBody.read(request)
        if case .success(let session) = session(request, .read), !session.acceptsCSRF(form["csrf"]) {
            return csrfRefusal(session)
        }
        return ConsoleResponse.redirect("/ui/login", headers: [.setCookie: ConsoleSession.clearedCookie])
    }

    /// Flushes now and names the snapshot, as `POST /cuts/{name}` does; then back to the list (303), or the
    /// list with the reason it failed.
    func createCut(_ request: Request) async throws -> Response {
        let session: ConsoleSession
        switch self.session(request, .admin) {
        case .failure(let refusal): return refusal.response
        case .success(let found): session = found
        }
        let form = try await FormBody.read(request)
        guard session.acceptsCSRF(form["csrf"]) else { return csrfRefusal(session) }
        let name = (form["name"] ?? "").trimmingCharacters(in: .whitespaces)
        do {
            _ = try await api.coordinator.flush(cutName: name)
        } catch {
            let apiError = StoreErrors.apiError(flush: error)
            let notice: HTML = "<p class=\"error\" role=\"alert\" id=\"cut-error\">\(apiError.message)</p>"
            let page = await CutsPage(api: api, session: session, notice: notice, proposedName: name).render()
            return ConsoleResponse.html(apiError.status, page)  // the status POST /cuts/{name} answers
        }
        let encoded = name.addingPercentEncoding(withAllowedCharacters: ConsoleRoutes.unreserved) ?? ""
        return ConsoleResponse.redirect("/ui/cuts?created=\(encoded)")
    }

    func csrfRefusal(_ session: ConsoleSession) -> Response {
        api.console.log.record("console form refused: missing or wrong CSRF token")
        let page = ConsoleLayout(title: "Form refused", section: .overview, csrfToken: session.signOutToken).page(
            """
            <p class="error" role="alert">The form's CSRF token is missing or out of date (the server may have \
            restarted). Reload the page and submit it again.</p>
            """)
        return ConsoleResponse.html(.forbidden, page)
    }
}
