public import ArchiverConfiguration
import Basics
import Crypto
import Foundation

extension APITokenEntry {
    /// A new random token (256 bits from the system's CSPRNG) and its configuration entry.
    public static func generate(name: String, scopes: Set<APIScope>) -> (token: String, entry: APITokenEntry) {
        var generator = SystemRandomNumberGenerator()
        let bytes = (0..<32).map { _ in UInt8.random(in: 0...255, using: &generator) }
        let token = "arch_" + LowercaseHex.encode(bytes)
        return (token, APITokenEntry(name: name, scopes: scopes, digest: digest(of: token)))
    }

    public static func digest(of token: String) -> [UInt8] {
        Array(SHA256.hash(data: Array(token.utf8)))
    }
}

/// Checks `Authorization: Bearer …` against the configured tokens.
///
/// The presented token is hashed and compared with every entry's hash in constant time (no early exit, all
/// entries visited), so neither the timing nor the log reveals how close a guess was.
public struct TokenAuthenticator: Sendable {
    public var entries: [APITokenEntry]

    public init(entries: [APITokenEntry]) { self.entries = entries }

    /// True when no token is configured: every request is allowed (only on loopback; see `ServerConfiguration`).
    public var isOpen: Bool { entries.isEmpty }

    /// The entry whose token was presented, or nil.
    public func authenticate(bearer token: String) -> APITokenEntry? {
        let presented = APITokenEntry.digest(of: token)
        var match: APITokenEntry?
        for entry in entries where Self.constantTimeEqual(entry.digest, presented) {
            match = entry
        }
        return match
    }

    static func constantTimeEqual(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        guard a.count == b.count else { return false }
        var difference: UInt8 = 0
        for i in a.indices { difference |= a[i] ^ b[i] }
        return difference == 0
    }
}
