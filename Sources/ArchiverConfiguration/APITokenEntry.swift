import Basics
import Foundation

/// What a token may do. `admin` includes `append` and `read`.
public enum APIScope: String, Sendable, Hashable, CaseIterable {
    /// `POST /streams/{stream}/events`.
    case append
    /// `GET /streams/…`, `GET /events`, `GET /cuts`.
    case read
    /// `POST /flush`, `POST /cuts/{name}`, and everything else.
    case admin
}

/// One configured token: its name, its scopes and the SHA-256 of the secret. The secret itself is never
/// stored; `archiver tokens generate` prints it once.
///
/// The configuration form is `NAME:SCOPE[+SCOPE…]:SHA256HEX`, e.g. `billing:append+read:9f86d0…`.
public struct APITokenEntry: Sendable, Hashable {
    public var name: String
    public var scopes: Set<APIScope>
    /// SHA-256 of the token's UTF-8 bytes.
    public var digest: [UInt8]

    public init(name: String, scopes: Set<APIScope>, digest: [UInt8]) {
        self.name = name
        self.scopes = scopes
        self.digest = digest
    }

    /// - Throws: ``ConfigError`` saying which part is malformed (never echoing the hash).
    public init(parsing entry: String) throws {
        let parts = entry.split(separator: ":", omittingEmptySubsequences: false)
        guard parts.count == 3 else {
            throw ConfigError("a token entry must look like NAME:SCOPES:SHA256 (from `archiver tokens generate`)")
        }
        let name = String(parts[0])
        guard !name.isEmpty, name.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" || $0 == "." })
        else {
            throw ConfigError("token name '\(name.prefix(40))' must be letters, digits, '-', '_' or '.'")
        }
        var scopes = Set<APIScope>()
        for scope in parts[1].split(separator: "+") {
            guard let parsed = APIScope(rawValue: String(scope)) else {
                throw ConfigError("token '\(name)': unknown scope '\(scope.prefix(20))' (append, read or admin)")
            }
            scopes.insert(parsed)
        }
        guard !scopes.isEmpty else { throw ConfigError("token '\(name)' has no scope (append, read or admin)") }
        guard let digest = LowercaseHex.decode(parts[2].utf8), digest.count == 32 else {
            throw ConfigError("token '\(name)': the hash must be 64 hex digits (SHA-256)")
        }
        self.init(name: name, scopes: scopes, digest: digest)
    }

    /// The configuration form.
    public var entry: String {
        "\(name):\(APIScope.allCases.filter(scopes.contains).map(\.rawValue).joined(separator: "+")):"
            + LowercaseHex.encode(digest)
    }

    public func allows(_ scope: APIScope) -> Bool {
        scopes.contains(.admin) || scopes.contains(scope)
    }
}
