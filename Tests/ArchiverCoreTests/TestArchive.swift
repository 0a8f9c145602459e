import ArchiveFormat
import ArchiverCore
import Coordination
import CoordinationSQLite
import Foundation
import Lode
import Synchronization
import Testing

/// An ``ObjectStore`` that counts the operations made through it, by kind and by key prefix.
final class CountingStore: ObjectStore {
    let base: any ObjectStore
    private let log = Mutex<[(op: String, key: String)]>([])

    init(base: any ObjectStore) {
        self.base = base
    }

    private func record(_ op: String, _ key: String) {
        log.withLock { $0.append((op, key)) }
    }

    func reset() { log.withLock { $0.removeAll() } }

    /// Operations (optionally of one kind) on keys starting with `prefix`.
    func count(_ op: String? = nil, prefix: String = "") -> Int {
        log.withLock { entries in entries.filter { (op == nil || $0.op == op) && $0.key.hasPrefix(prefix) }.count }
    }

    var total: Int { log.withLock { $0.count } }

    func put(_ key: String, _ bytes: [UInt8]) async throws {
        record("put", key)
        try await base.put(key, bytes)
    }

    func putFile(_ key: String, fromLocalFile path: String) async throws {
        record("put", key)
        try await base.putFile(key, fromLocalFile: path)
    }

    func get(_ key: String) async throws -> [UInt8] {
        record("get", key)
        return try await base.get(key)
    }

    func getRange(_ key: String, offset: Int64, length: Int64) async throws -> [UInt8] {
        record("get", key)
        return try await base.getRange(key, offset: offset, length: length)
    }

    func openReader(_ key: String) async throws -> any ObjectReader {
        record("get", key)
        return try await base.openReader(key)
    }

    func head(_ key: String) async throws -> ObjectInfo? {
        record("head", key)
        return try await base.head(key)
    }

    func exists(_ key: String) async throws -> Bool {
        record("head", key)
        return try await base.exists(key)
    }

    func list(prefix: String) async throws -> [ObjectInfo] {
        record("list", prefix)
        return try await base.list(prefix: prefix)
    }

    func delete(_ key: String) async throws {
        record("delete", key)
        try await base.delete(key)
    }

    func compareAndSwap(_ key: String, expected: String, replacement: String) async throws {
        record("cas", key)
        try await base.compareAndSwap(key, expected: expected, replacement: replacement)
    }
}

/// A real flusher writing into an in-memory archive from a SQLite coordination store on tmpfs.
struct TestArchive {
    let directory: String
    let coordination: SQLiteCoordinationStore
    let memory: MemoryStore
    var settings: ArchiveSettings

    /// Runs `body` with a fresh archive; cleans up afterwards, also when `body` throws.
    static func with<T>(
        bytesPerSnapshot: Int = 1, _ body: (inout TestArchive) async throws -> T
    ) async throws -> T {
        let root = FileManager.default.fileExists(atPath: "/dev/shm") ? "/dev/shm" : NSTemporaryDirectory()
        let directory = root + "/archiver-core-test-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        var options = SQLiteCoordinationStore.Options()
        options.synchronous = .normal
        let coordination = try await SQLiteCoordinationStore(path: directory + "/archiver.db", options: options)
        _ = try await coordination.migrate()
        var settings = ArchiveSettings()
        settings.targetSnapshotBytes = bytesPerSnapshot
        var archive = TestArchive(
            directory: directory, coordination: coordination, memory: MemoryStore(), settings: settings)
        do {
            let result = try await body(&archive)
            await coordination.close()
            return result
        } catch {
            await coordination.close()
            throw error
        }
    }

    /// The archive over `store` (default: the memory store itself).
    func archive(over store: (any ObjectStore)? = nil) throws -> Archive {
        try Archive(store: store ?? memory, settings: settings)
    }

    /// Appends `count` events: stream `<category>-<n>` with `streams` streams spread over `categories`.
    func append(
        _ count: Int, streams: Int = 50, categories: [String] = ["account", "order", "invoice"], from: Int = 0
    )
        async throws
    {
        var requests: [AppendRequest] = []
        for i in from..<(from + count) {
            let n = (i &* 7919) % streams
            let stream = "\(categories[n % categories.count])-\(n)"
            requests.append(
                AppendRequest(
                    stream: stream,
                    events: [ProposedEvent(type: "Changed", data: #"{"amount":\#(i % 97),"n\#(i % 5)":\#(i)}"#)]))
            if requests.count == 500 {
                _ = try await coordination.appendMultiple(requests, idempotencyKey: nil)
                requests.removeAll()
            }
        }
        if !requests.isEmpty { _ = try await coordination.appendMultiple(requests, idempotencyKey: nil) }
    }

    /// One flush pass of everything appended; with `cutName`, its last snapshot is a named cut point.
    @discardableResult
    func flush(checkpointEvery: Int, cutName: String? = nil) async throws -> FlushSummary {
        var options = FlushOptions(cutName: cutName, spoolDirectory: directory, producer: "lode-archiver test")
        // These tests are not about lease expiry; a full parallel run on 2 cores can starve a pass for a minute.
        options.leaseTTLSeconds = 3_600
        options.pageSize = 1
        options.checkpointEvery = checkpointEvery
        return try await Flusher(store: coordination, archive: try archive(), options: options).run()
    }
}

/// Replays `plan` into the fold projection; returns its rows and the replay's statistics.
func foldRows(
    _ archive: Archive, plan: ReadPlan, filter: ReplayFilter = ReplayFilter()
) async throws
    -> ([ProjectedRow], ReplayStats)
{
    var fold = MergePatchFold()
    let stats = try await Replayer(archive: archive, filter: filter).run(&fold, plan: plan)
    return (try fold.rows(), stats)
}
