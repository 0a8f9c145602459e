import Coordination
import CoordinationSQLite
import Foundation
import Testing

@testable import CoordinationPostgres

/// The services the tests may use, from the environment (`scripts/with-services.sh` sets them).
enum TestServices {
    static let postgresURL: String? = {
        let url = ProcessInfo.processInfo.environment["ARCHIVER_TEST_POSTGRES_URL"] ?? ""
        return url.isEmpty ? nil : url
    }()
}

/// A coordination store implementation the contract suite runs against.
enum Backend: String, CaseIterable, Sendable, CustomTestStringConvertible {
    case sqlite, postgres

    var testDescription: String { rawValue }

    /// SQLite always; PostgreSQL when `ARCHIVER_TEST_POSTGRES_URL` is set (the gate test
    /// `StoreContractTests.postgresIsAvailable` shows as skipped otherwise).
    static let available: [Backend] = TestServices.postgresURL == nil ? [.sqlite] : [.sqlite, .postgres]
}

/// A fresh, empty store of one backend: a temporary SQLite file, or a unique PostgreSQL schema. Every
/// ``open()`` is another store instance on the same data (another connection, as another process would be).
struct BackendFixture: Sendable {
    let backend: Backend
    private let sqlite: StoreFixture?
    private let postgres: PostgresFixture?

    init(_ backend: Backend) throws {
        self.backend = backend
        switch backend {
        case .sqlite:
            sqlite = try StoreFixture()
            postgres = nil
        case .postgres:
            let url = try #require(TestServices.postgresURL, "ARCHIVER_TEST_POSTGRES_URL is not set")
            sqlite = nil
            postgres = PostgresFixture(url: url)
        }
    }

    func open() async throws -> any CoordinationStore {
        if let sqlite { return try await sqlite.open() }
        return try await postgres!.open()
    }

    func remove() {
        sqlite?.remove()
        postgres?.drop()
    }
}

/// Runs `body` with a fresh store of `backend`, closed and removed afterwards (also when `body` throws).
func withBackend(
    _ backend: Backend, _ body: (any CoordinationStore, BackendFixture) async throws -> Void
) async throws {
    let fixture = try BackendFixture(backend)
    defer { fixture.remove() }
    let store = try await fixture.open()
    do {
        try await body(store, fixture)
    } catch {
        await store.close()
        throw error
    }
    await store.close()
}

/// The safe mark once it reaches `wanted` (on PostgreSQL, tests in other schemas share the server's
/// transaction ids, so under load the mark may lag for a while); the last value after 30 s otherwise.
func settledMark(_ store: any EventLog, atLeast wanted: Int64) async throws -> Int64 {
    let deadline = ContinuousClock.now + .seconds(30)
    var mark = try await store.safeHighWaterMark()
    while mark < wanted && ContinuousClock.now < deadline {
        mark = try await store.safeHighWaterMark()
    }
    return mark
}

func event(_ type: String = "Deposited", _ data: String = #"{"amount":1}"#, id: String? = nil) -> ProposedEvent {
    ProposedEvent(id: id, type: type, data: data)
}

/// The code of the `CoordinationError` that `body` throws (nil when it succeeds or throws something else).
func coordinationErrorCode(_ body: () async throws -> Void) async -> CoordinationError.Code? {
    do {
        try await body()
        return nil
    } catch let error as CoordinationError {
        return error.code
    } catch {
        return nil
    }
}
