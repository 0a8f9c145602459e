import Foundation
import HTTPTypes
import Hummingbird

extension TokenAuthenticator {
    /// Checks the request's bearer token against `scope`.
    /// - Returns: the token's entry, or nil when no token is configured (the API is open).
    /// - Throws: ``APIError`` 401 without a valid bearer token, 403 when its scopes do not include `scope`.
    @discardableResult
    func authorize(_ request: Request, _ scope: APIScope) throws -> APITokenEntry? {
        guard !isOpen else { return nil }
        let challenge: HTTPFields = [.wwwAuthenticate: #"Bearer realm="archiver""#]
        guard let token = Self.bearerToken(request) else {
            throw APIError(.unauthorized, "unauthorized", "send Authorization: Bearer TOKEN", headers: challenge)
        }
        guard let entry = authenticate(bearer: token) else {
            throw APIError(.unauthorized, "unauthorized", "the bearer token is not valid", headers: challenge)
        }
        guard entry.allows(scope) else {
            throw APIError(
                .forbidden, "insufficient-scope", "token '\(entry.name)' lacks the '\(scope.rawValue)' scope")
        }
        return entry
    }

    /// True when the request carries a valid token with `scope`; never throws (for routes open to all that show
    /// more to authenticated callers).
    func grants(_ request: Request, _ scope: APIScope) -> Bool {
        guard !isOpen, let token = Self.bearerToken(request), let entry = authenticate(bearer: token) else {
            return false
        }
        return entry.allows(scope)
    }

    private static func bearerToken(_ request: Request) -> String? {
        guard let header = request.headers[.authorization], header.count > 7, header.prefix(7).lowercased() == "bearer "
        else { return nil }
        return String(header.dropFirst(7)).trimmingCharacters(in: .whitespaces)
    }
}
