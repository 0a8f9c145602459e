import ArchiverServer
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Testing
import Yams

/// docs/openapi.yaml describes exactly the routes the server answers, with the right security.
@Suite struct OpenAPITests {
    static var document: [String: Any] {
        let path = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("docs/openapi.yaml").path
        let text = (try? String(contentsOfFile: path, encoding: .utf8)) ?? ""
        return ((try? Yams.load(yaml: text)) as? [String: Any]) ?? [:]
    }

    /// (method, path, needs a token, documented statuses) for every operation in the document.
    static var operations: [(method: String, path: String, secured: Bool, statuses: Set<Int>)] {
        let paths = document["paths"] as? [String: Any] ?? [:]
        return paths.flatMap { path, item in
            (item as? [String: Any] ?? [:]).map { method, operation in
                let operation = operation as? [String: Any] ?? [:]
                let security = operation["security"] as? [Any]
                let statuses = (operation["responses"] as? [String: Any] ?? [:]).keys.compactMap { Int($0) }
                return (method.uppercased(), path, security?.isEmpty != true, Set(statuses))
            }
        }
    }

    @Test func documentedRoutesAreTheServedRoutes() {
        #expect(Self.document["openapi"] as? String == "3.1.0")
        let documented = Set(Self.operations.map { "\($0.method) \($0.path) \($0.secured)" })
        let served = Set(ArchiverAPI.routes.map { "\($0.method) \($0.path) \($0.scope != nil)" })
        #expect(documented == served)
    }

    @Test func everyDocumentedOperationAnswersAsDocumented() async throws {
        let token = APITokenEntry.generate(name: "ops", scopes: [.admin])
        try await withAPI(configure: { $0.tokens = [token.entry] }) { _, client in
            for operation in Self.operations {
                let uri = operation.path.replacingOccurrences(of: "{stream}", with: "s")
                    .replacingOccurrences(of: "{name}", with: "c")
                let method = HTTPRequest.Method(operation.method)!
                let anonymous = try await client.execute(uri: uri, method: method)
                if operation.secured {
                    #expect(anonymous.status == .unauthorized, "\(operation.method) \(operation.path)")
                    #expect(operation.statuses.contains(401) && operation.statuses.contains(403))
                } else {
                    #expect(anonymous.status == .ok, "\(operation.method) \(operation.path)")
                }
                let authorized = try await client.execute(
                    uri: uri, method: method,
                    headers: [.authorization: "Bearer \(token.token)", .contentType: "application/json"],
                    body: method == .post ? ByteBuffer(string: #"{"type":"T","data":1}"#) : nil)
                #expect(
                    operation.statuses.contains(Int(authorized.status.code)),
                    "\(operation.method) \(operation.path) answered \(authorized.status.code), not documented")
            }
            // Anything else is not a route.
            #expect(try await client.execute(uri: "/streams", method: .get).status == .notFound)
        }
    }
}
