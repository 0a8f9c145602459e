import Foundation
public import HTTPTypes

/// Refuses what a web page can make a browser send to the sidecar: without tokens, any page the user opens
/// could otherwise append or flush (a cross-origin "simple" POST needs no preflight) or, through DNS rebinding
/// (a name of the attacker's that resolves to 127.0.0.1), read events.
///
/// - Host: with no token configured, only a loopback name or address, or the configured host, is served.
/// - Origin: a request that carries `Origin` is served only when it is the server's own origin or is listed
///   in ``ServerConfiguration/allowedOrigins`` (for embedders; no configuration key sets it yet).
/// - Content-Type: a POST that declares a body must declare it `application/json`; browsers send `text/plain`
///   and form types cross-origin without asking.
public struct RequestOriginPolicy: Sendable {
    /// Lowercased `scheme://host[:port]` forms.
    var allowedOrigins: Set<String>
    /// Lowercased host names served when no token is configured; nil: every host (tokens guard the API).
    var allowedHosts: Set<String>?

    public init(configuration: ServerConfiguration) {
        allowedOrigins = Set(configuration.allowedOrigins.map { Self.normalizedOrigin($0) })
        allowedHosts =
            configuration.tokens.isEmpty ? ["localhost", "::1", configuration.host.lowercased()] : nil
    }

    /// - Parameter acceptsForms: the console's form routes, which check a CSRF token of their own, also take
    ///   `application/x-www-form-urlencoded` bodies.
    /// - Throws: ``APIError`` 403 `host-not-allowed` or `origin-not-allowed`, 415 `unsupported-media-type`.
    public func check(
        method: HTTPRequest.Method, authority: String?, headers: HTTPFields, acceptsForms: Bool = false
    ) throws {
        let host = authority.map(Authority.init)
        if let allowedHosts, let host, !Self.isLoopback(host.name) && !allowedHosts.contains(host.name) {
            throw APIError(
                .forbidden, "host-not-allowed",
                "Host '\(host.name.prefix(100))' is not this server: without API tokens only loopback names are "
                    + "served (configure tokens to serve other names)")
        }
        if let origin = headers[.origin], !isAllowed(origin: origin, host: host) {
            throw APIError(
                .forbidden, "origin-not-allowed",
                "requests from web pages of other origins ('\(origin.prefix(100))') are refused: call the API from "
                    + "a program or server, not from a browser page")
        }
        if method == .post, Self.declaresBody(headers), !Self.isJSON(headers[.contentType]),
            !(acceptsForms && Self.isForm(headers[.contentType]))
        {
            throw APIError(
                .unsupportedMediaType, "unsupported-media-type",
                "send the body with Content-Type: application/json")
        }
    }

    func isAllowed(origin: String, host: Authority?) -> Bool {
        let normalized = Self.normalizedOrigin(origin)
        if allowedOrigins.contains(normalized) { return true }
        guard let host, let schemeEnd = normalized.range(of: "://") else { return false }
        let scheme = normalized[..<schemeEnd.lowerBound]
        let defaultPort = scheme == "https" ? 443 : scheme == "http" ? 80 : nil
        let from = Authority(String(normalized[schemeEnd.upperBound...]))
        return from.name == host.name && (from.port ?? defaultPort) == (host.port ?? defaultPort)
    }

    static func declaresBody(_ headers: HTTPFields) -> Bool {
        headers[.contentType] != nil || headers[.contentLength].map { $0 != "0" } == true
    }

    /// `application/json`, with any parameters (`; charset=utf-8`).
    static func isJSON(_ contentType: String?) -> Bool {
        guard let contentType else { return false }
        let mediaType = contentType.split(separator: ";", maxSplits: 1).first ?? ""
        return mediaType.trimmingCharacters(in: [" ", "\t"]).lowercased() == "application/json"
    }

    /// `application/x-www-form-urlencoded`, what an HTML form sends.
    static func isForm(_ contentType: String?) -> Bool {
        guard let contentType else { return false }
        let mediaType = contentType.split(separator: ";", maxSplits: 1).first ?? ""
        return mediaType.trimmingCharacters(in: [" ", "\t"]).lowercased() == "application/x-www-form-urlencoded"
    }

    static func isLoopback(_ name: String) -> Bool {
        if name == "localhost" || name == "::1" { return true }
        let octets = name.split(separator: ".", omittingEmptySubsequences: false)
        return octets.count == 4 && octets[0] == "127" && octets.allSatisfy { UInt8($0) != nil }
    }

    static func normalizedOrigin(_ origin: String) -> String {
        var text = origin.trimmingCharacters(in: [" ", "\t"]).lowercased()
        while text.hasSuffix("/") { text.removeLast() }
        return text
    }

    /// `host[:port]` of a Host header or an origin, the name lowercased and IPv6 brackets removed.
    struct Authority: Sendable, Hashable {
        var name: String
        var port: Int?

        init(_ text: String) {
            let text = text.lowercased()
            if text.hasPrefix("["), let close = text.firstIndex(of: "]") {
                name = String(text[text.index(after: text.startIndex)..<close])
                let rest = text[text.index(after: close)...]
                port = rest.hasPrefix(":") ? Int(rest.dropFirst()) : nil
            } else if let colon = text.lastIndex(of: ":"), text.firstIndex(of: ":") == colon {
                name = String(text[..<colon])
                port = Int(text[text.index(after: colon)...])
            } else {
                name = text
                port = nil
            }
        }
    }
}
