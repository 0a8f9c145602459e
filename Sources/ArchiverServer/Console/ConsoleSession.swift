import ArchiverConfiguration
import Basics
import Crypto
import Foundation
import HTTPTypes
import Hummingbird

/// Who is looking at the console, and the CSRF token of their forms.
///
/// A browser presents the API token in the `archiver_console` cookie, which `POST /ui/login` sets
/// (`HttpOnly`, `SameSite=Strict`, `Path=/ui`), so scripts cannot read it and other sites' pages cannot make
/// the browser send it; a program may send `Authorization: Bearer` as with the API. Without configured tokens
/// the console is open like the API (loopback only).
struct ConsoleSession: Sendable {
    static let cookieName = "archiver_console"

    /// nil when no token is configured.
    var entry: APITokenEntry?
    /// HMAC of the token's hash under the process's key: a page of another origin cannot read it, and it is
    /// worthless for another token or after a restart.
    var csrfToken: String

    /// What the sign-out form carries; nil without tokens (nothing to sign out of).
    var signOutToken: String? { entry == nil ? nil : csrfToken }

    func allows(_ scope: APIScope) -> Bool { entry.map { $0.allows(scope) } ?? true }

    /// The session of `request`, or nil when it presents no valid token.
    static func of(_ request: Request, authenticator: TokenAuthenticator, key: SymmetricKey) -> ConsoleSession? {
        if authenticator.isOpen { return ConsoleSession(entry: nil, csrfToken: csrf(for: "open", key: key)) }
        guard let token = presentedToken(request), let entry = authenticator.authenticate(bearer: token) else {
            return nil
        }
        let identity = LowercaseHex.encode(APITokenEntry.digest(of: token))
        return ConsoleSession(entry: entry, csrfToken: csrf(for: identity, key: key))
    }

    /// The bearer header first, then the cookie.
    static func presentedToken(_ request: Request) -> String? {
        if let header = request.headers[.authorization], header.count > 7, header.prefix(7).lowercased() == "bearer " {
            return String(header.dropFirst(7)).trimmingCharacters(in: .whitespaces)
        }
        return request.cookies[cookieName]?.value.removingPercentEncoding
    }

    static func csrf(for identity: String, key: SymmetricKey) -> String {
        let mac = HMAC<SHA256>.authenticationCode(for: Array(("archiver-console-csrf:" + identity).utf8), using: key)
        return LowercaseHex.encode(mac)
    }

    /// True when `presented` is this session's CSRF token (compared in constant time).
    func acceptsCSRF(_ presented: String?) -> Bool {
        guard let presented else { return false }
        return TokenAuthenticator.constantTimeEqual(Array(presented.utf8), Array(csrfToken.utf8))
    }

    /// The `Set-Cookie` value that stores `token` for the console's paths.
    static func cookie(token: String) -> String {
        let value = token.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? ""
        return "\(cookieName)=\(value); Path=/ui; HttpOnly; SameSite=Strict"
    }

    /// The `Set-Cookie` value that removes the cookie.
    static let clearedCookie = "\(cookieName)=; Path=/ui; HttpOnly; SameSite=Strict; Max-Age=0"
}
