import ArchiveFormat
import Basics
public import Coordination
import Foundation
import Lode
import Synchronization

/// Archived events as the hot store's reads return them: the same ``RecordedEvent`` values (so the one renderer,
/// ``EventJSON/write(_:to:)``, writes the same bytes), in position order, up to a position the caller names.
///
/// Reads plan from the catalog (the latest cut, re-planned when a read needs a later position) and walk only
/// the snapshots after the read's start; a stream read reads only the data files whose stream filters and
/// category partition may hold the stream. Every object is checked against the size and MD5 its manifest
/// records before any of its records is used (the first read of a stream from a format 2 snapshot checks each
/// frame against the SHA-256 its manifest lists instead, ``StreamFrameScan``), and a snapshot read whole has its
/// hash chain recomputed from the chain start to the chain head its manifest records
/// (``ArchiveReader/verifySnapshotChains``): an altered object is an error naming it, never altered data. The
/// first read of one stream from a format 2 snapshot answers from its frames; the snapshot's index, which later
/// reads use, is built off the request path. Encrypted data (crypto-shredding) is opened with the subject's key
/// from the store, or redacted exactly as replay shows it.
///
/// ```swift
/// let cold = ColdEventSource(archive: archive, keys: store)
/// let page = try await cold.readAll(after: 0, through: try await store.prunedThrough(), limit: 100)
/// ```
public final class ColdEventSource: Sendable {
    public let archive: Archive
    let keys: (any SubjectKeyStore)?
    public let cache: SnapshotEventCache
    let gate: ColdReadGate
    let observer: (any ColdReadObserver)?
    private let cachedPlan = Mutex<ReadPlan?>(nil)
    /// Snapshots whose objects are not line-aligned zstd frames (``SnapshotIndex/build(_:archive:)``): read as
    /// streams, without trying to index them again.
    let unindexable = Mutex<Set<String>>([])
    /// Index builds under way, by cache key.
    let indexBuilds = Mutex<[String: Task<SnapshotIndex?, any Error>]>([:])

    /// - Parameters:
    ///   - keys: where subject keys are looked up for encrypted data (nil: such data reads as unavailable).
    ///   - cacheBytes: the cap of the decoded-snapshot cache (``SnapshotEventCache``).
    ///   - concurrency: cold reads that may run at once; more wait their turn.
    public init(
        archive: Archive, keys: (any SubjectKeyStore)?, cacheBytes: Int64 = 256 << 20, concurrency: Int = 4,
        observer: (any ColdReadObserver)? = nil
    ) {
        self.archive = archive
        self.keys = keys
        self.cache = SnapshotEventCache(capacityBytes: cacheBytes)
        self.gate = ColdReadGate(limit: concurrency)
        self.observer = observer
    }

    /// Events with `after < position <= through`, in position order, at most `limit`.
    /// - Throws: ``ArchiverError`` `.tampered` when the archive does not reach `through`; Lode and
    ///   ``ArchiveFormatError`` errors for altered or missing objects.
    public func readAll(after: Int64, through: Int64, limit: Int) async throws -> [RecordedEvent] {
        try await read(ColdQuery(after: after, through: through, limit: limit))
    }

    /// Events of `stream` with `version >= fromVersion` and `position <= through`, in version order.
    public func readStream(
        _ stream: String, fromVersion: Int64, through: Int64, limit: Int
    ) async throws -> [RecordedEvent] {
        var query = ColdQuery(after: 0, through: through, limit: limit)
        query.selector = FileSelector(streams: [stream])
        query.streamHash = StreamHash.fnv1a64(stream)
        query.stream = stream
        query.matches = { $0.stream == stream && $0.version >= fromVersion }
        return try await read(query)
    }

    /// Events of streams of `category` (``ArchivePartitioning/category(of:)``) with `after < position <= through`.
    public func readCategory(
        _ category: String, after: Int64, through: Int64, limit: Int
    ) async throws -> [RecordedEvent] {
        var query = ColdQuery(after: after, through: through, limit: limit)
        query.selector = FileSelector(categories: [category])
        query.matches = { ArchivePartitioning.category(of: $0.stream) == category }
        return try await read(query)
    }

    /// Runs `query` within the concurrency bound; a plan whose objects were retired (compaction) since it was
    /// made is replaced once.
    func read(_ query: ColdQuery) async throws -> [RecordedEvent] {
        guard query.limit > 0, query.after < query.through else { return [] }
        let started = ContinuousClock.now
        defer { observer?.coldRead(seconds: (ContinuousClock.now - started).inSeconds) }
        return try await gate.run {
            var events: [RecordedEvent]
            do {
                events = try await collect(query, plan: try await plan(covering: query.through, fresh: false))
            } catch let error as LodeError where error.code == .notFound {
                events = try await collect(query, plan: try await plan(covering: query.through, fresh: true))
            }
            try await openEncrypted(&events)
            return events
        }
    }

    /// The latest cut's plan, made again when the cached one ends before `through` (or when `fresh`).
    /// - Throws: ``ArchiverError`` `.tampered` when even the latest cut ends before `through`.
    func plan(covering through: Int64, fresh: Bool) async throws -> ReadPlan {
        if !fresh, let plan = cachedPlan.withLock({ $0 }), plan.lastPosition >= through { return plan }
        let plan: ReadPlan
        do {
            plan = try await archive.plan(to: .latest)
        } catch let error as ArchiverError where error.code == .emptyArchive {
            throw Self.missing(through: through, archiveEnd: 0)
        }
        guard plan.lastPosition >= through else { throw Self.missing(through: through, archiveEnd: plan.lastPosition) }
        cachedPlan.withLock { $0 = plan }
        return plan
    }

    static func missing(through: Int64, archiveEnd: Int64) -> ArchiverError {
        ArchiverError(
            .tampered,
            "archive integrity: the hot store pruned events through position \(through) as archived, but the "
                + "archive ends at position \(archiveEnd): snapshots are missing or --archive names another archive; "
                + "run `archiver verify`")
    }
}
