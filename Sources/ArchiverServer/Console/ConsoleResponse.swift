import HTTPTypes
import Hummingbird

/// Console responses and the headers every one of them carries.
enum ConsoleResponse {
    /// No inline script or style, nothing from elsewhere; forms post only to this server; no framing.
    static let contentSecurityPolicy =
        "default-src 'none'; style-src 'self'; script-src 'self'; connect-src 'self'; img-src 'self'; "
        + "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"

    /// Every console page stays below this many bytes (docs/CONSOLE.md; a test checks it).
    static let pageBudgetBytes = 30 * 1024

    static func securityHeaders(contentType: String) -> HTTPFields {
        [
            .contentType: contentType,
            .contentSecurityPolicy: contentSecurityPolicy,
            HTTPField.Name("X-Content-Type-Options")!: "nosniff",
            HTTPField.Name("X-Frame-Options")!: "DENY",
            // Not no-referrer: with it Chromium sends `Origin: null` on form posts, which the origin check refuses.
            HTTPField.Name("Referrer-Policy")!: "same-origin",
            .cacheControl: "no-store",
        ]
    }

    static func html(_ status: HTTPResponse.Status, _ page: HTML, headers extra: HTTPFields = [:]) -> Response {
        var headers = securityHeaders(contentType: "text/html; charset=utf-8")
        headers.append(contentsOf: extra)
        return Response(status: status, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(string: page.text)))
    }

    /// `303 See Other` to `location` (after a form post, so a reload does not post again).
    static func redirect(_ location: String, headers extra: HTTPFields = [:]) -> Response {
        var headers = securityHeaders(contentType: "text/plain; charset=utf-8")
        headers[.location] = location
        headers.append(contentsOf: extra)
        return Response(status: .seeOther, headers: headers)
    }

    static func asset(_ contentType: String, _ text: String) -> Response {
        var headers = securityHeaders(contentType: contentType)
        headers[.cacheControl] = "max-age=3600"
        return Response(status: .ok, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(string: text)))
    }
}
