import ArchiverCore
import ArchiverServer
import Coordination
import CoordinationSQLite
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Lode

/// An API over a fresh SQLite store and file archive in a temporary directory, removed afterwards.
func withAPI<T: Sendable>(
    configure: (inout ServerConfiguration) -> Void = { _ in }, holder: String = "replica-a",
    upcaster: Upcaster? = nil, _ body: @Sendable (ArchiverAPI, any TestClientProtocol) async throws -> T
) async throws -> T {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("archiver-api-\(UUID().uuidString)").path
    try FileManager.default.createDirectory(atPath: dir + "/archive", withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: dir) }
    let store = try await SQLiteCoordinationStore(path: dir + "/archiver.db")
    try await store.migrate()
    let archive = try await Archive.open(store: FileStore(root: dir + "/archive"))
    var configuration = ServerConfiguration()
    configuration.flushInterval = 0
    configure(&configuration)
    var configured = ArchiverAPI(
        store: store, archive: archive, configuration: configuration,
        flushOptions: FlushOptions(holder: holder, spoolDirectory: dir, producer: "test"))
    configured.upcaster = upcaster
    let api = configured
    let app = Application(router: api.router())
    do {
        let result = try await app.test(.router) { client in try await body(api, client) }
        await store.close()
        return result
    } catch {
        await store.close()
        throw error
    }
}

extension HTTPField.Name {
    static let expectedVersion = HTTPField.Name("Expected-Version")!
    static let idempotencyKey = HTTPField.Name("Idempotency-Key")!
    static let idempotentReplayed = HTTPField.Name("Idempotent-Replayed")!
}

extension TestResponse {
    var text: String { String(buffer: body) }

    /// The body as a JSON object.
    var object: [String: Any] {
        (try? JSONSerialization.jsonObject(with: Data(text.utf8))) as? [String: Any] ?? [:]
    }
}

extension TestClientProtocol {
    /// POST /streams/{stream}/events with a JSON body and optional headers.
    func append(
        _ stream: String, _ body: String, expected: String? = nil, key: String? = nil, token: String? = nil
    ) async throws -> TestResponse {
        var headers: HTTPFields = [.contentType: "application/json"]
        if let expected { headers[.expectedVersion] = expected }
        if let key { headers[.idempotencyKey] = key }
        if let token { headers[.authorization] = "Bearer \(token)" }
        return try await execute(
            uri: "/streams/\(stream)/events", method: .post, headers: headers, body: ByteBuffer(string: body))
    }

    func get(_ uri: String, token: String? = nil, headers: HTTPFields = [:]) async throws -> TestResponse {
        var headers = headers
        if let token { headers[.authorization] = "Bearer \(token)" }
        return try await execute(uri: uri, method: .get, headers: headers)
    }

    func post(_ uri: String, token: String? = nil) async throws -> TestResponse {
        var headers: HTTPFields = [:]
        if let token { headers[.authorization] = "Bearer \(token)" }
        return try await execute(uri: uri, method: .post, headers: headers)
    }
}
