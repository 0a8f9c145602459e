import Coordination
import Foundation
import TestSupport
import Testing

@testable import CoordinationSQLite

/// A fresh store in a temporary directory; several connections to it can be opened.
struct StoreFixture {
    let directory: String
    var path: String { directory + "/archiver.db" }

    init() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("coord-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    }

    func open() async throws -> SQLiteCoordinationStore {
        let store = try await SQLiteCoordinationStore(path: path)
        try await store.migrate()
        return store
    }

    func remove() { try? FileManager.default.removeItem(atPath: directory) }
}

func withStore<T>(_ body: (SQLiteCoordinationStore, StoreFixture) async throws -> T) async throws -> T {
    let fixture = try StoreFixture()
    defer { fixture.remove() }
    let store = try await fixture.open()
    let result = try await body(store, fixture)
    await store.close()
    return result
}

/// What only the SQLite store does: its migration file, disk-full and permission errors. The shared behaviour
/// is in `StoreContractTests`.
@Suite struct SQLiteStoreTests {
    @Test func migrationsAreRecordedAndTamperingIsRefused() async throws {
        let fixture = try StoreFixture()
        defer { fixture.remove() }
        let store = try await SQLiteCoordinationStore(path: fixture.path)
        let first = try await store.migrate()
        #expect(first.allSatisfy(\.appliedNow) && !first.isEmpty)
        let second = try await store.migrate()
        #expect(second.allSatisfy { !$0.appliedNow })
        await store.close()
        // Alter the recorded checksum as a hand-edited schema would.
        let tamper = try await runTool(
            "/usr/bin/sqlite3", [fixture.path, "UPDATE archiver_migrations SET checksum = 'bad' WHERE version = 1"])
        #expect(tamper.status == 0, "\(tamper.errorText)")
        let reopened = try await SQLiteCoordinationStore(path: fixture.path)
        await #expect(throws: CoordinationError.self) { try await reopened.migrate() }
        await reopened.close()
    }

    @Test func embeddedMigrationsEqualTheSQLFiles() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
        let files = try FileManager.default.contentsOfDirectory(atPath: root.path + "/migrations/sqlite")
            .filter { $0.hasSuffix(".sql") }.sorted()
        #expect(!files.isEmpty)
        let embedded = Set(
            try String(
                contentsOfFile: root.path + "/Sources/CoordinationSQLite/EmbeddedMigrations.swift", encoding: .utf8
            )
            .split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) })
        for file in files {
            for line in try String(contentsOfFile: root.path + "/migrations/sqlite/" + file, encoding: .utf8)
                .split(separator: "\n")
            {
                #expect(
                    embedded.contains(line.trimmingCharacters(in: .whitespaces)),
                    "\(file): \(line) not embedded; run scripts/embed-migrations.sh")
            }
        }
    }

    /// A database that may not grow (`max_page_count`, as a full disk would refuse the next page) fails an
    /// append with `.storageFull`, naming ENOSPC and the fix, and keeps what it had.
    @Test func aFullDatabaseIsStorageFullAndKeepsItsEvents() async throws {
        try await withStore { store, _ in
            _ = try await store.append(AppendRequest(stream: "f-1", events: [event()]))
            try await store.limitPagesForTesting(try await store.pageCountForTesting())
            let big = "{\"x\":\"" + String(repeating: "b", count: 200_000) + "\"}"
            do {
                _ = try await store.append(AppendRequest(stream: "f-1", events: [event("T", big)]))
                Issue.record("an append grew a database at its page limit")
            } catch let error as CoordinationError {
                #expect(error.code == .storageFull)
                #expect(error.message.contains("ENOSPC") && error.message.contains("free disk space"))
                #expect(!error.message.contains("bbbb"), "payloads stay out of error messages")
            }
            #expect(try await store.readAll(after: 0, limit: 10).map(\.stream) == ["f-1"])
            #expect(try await store.streamHead("f-1")?.version == 1)
        }
    }

    /// Codes that cannot be provoked as root (which ignores file modes) map by their result code and errno.
    @Test func permissionAndSpaceErrorsMapToNamedCodes() {
        let cases: [(Int32, Int32, CoordinationError.Code)] = [
            (13, 0, .storageFull),  // SQLITE_FULL
            (10 | (4 << 8), ENOSPC, .storageFull),  // SQLITE_IOERR_WRITE with ENOSPC
            (8, 0, .permissionDenied),  // SQLITE_READONLY
            (14, EACCES, .permissionDenied),  // SQLITE_CANTOPEN with EACCES
            (14, ENOENT, .connectionFailed),  // SQLITE_CANTOPEN, a missing directory
            (10, EIO, .queryFailed),  // SQLITE_IOERR, another cause
        ]
        for (rc, errno, code) in cases {
            let error = SQLiteConnection.error(rc, "test", systemErrno: errno, path: "/data/archiver.db")
            #expect(error.code == code, "rc \(rc) errno \(errno): \(error.message)")
        }
        let denied = SQLiteConnection.error(14, "unable to open", systemErrno: EACCES, path: "/data/archiver.db")
        #expect(denied.message.contains("EACCES") && denied.message.contains("/data/archiver.db"))
    }
}
