import ArchiveFormat
public import Coordination
import Crypto
import Foundation
import Lode

/// What a flush pass did.
public struct FlushSummary: Sendable, Hashable {
    /// Events archived by this pass (including a resumed intent's).
    public var events: Int64 = 0
    /// Snapshots committed, oldest first.
    public var snapshotIDs: [String] = []
    /// Data objects written (or reused after a crash).
    public var files: Int = 0
    /// Uncompressed record bytes and stored bytes.
    public var bytesIn: Int64 = 0
    public var bytesOut: Int64 = 0
    public var seconds: Double = 0
    /// Flush cursor after the pass.
    public var lastPosition: Int64 = 0
    /// True if the pass first completed a flush that an earlier process left unfinished.
    public var resumedIntent = false
    public var cutName: String?
    /// Catalog checkpoints written by this pass (catalog snapshot ids).
    public var checkpoints: [String] = []
    /// Why a due checkpoint was not written (it is derived data: the flush still succeeded).
    public var notes: [String] = []

    public init() {}

    /// Stored bytes per uncompressed byte, as "4.9x".
    public var ratio: Double { bytesOut > 0 ? Double(bytesIn) / Double(bytesOut) : 0 }
}

/// Progress of a running flush, reported after each snapshot and every few pages.
public struct FlushProgress: Sendable {
    public var events: Int64
    /// Committed events waiting when the pass started (an estimate: appends continue).
    public var backlog: Int64
    public var seconds: Double
}

public struct FlushOptions: Sendable {
    /// Names the last snapshot of this pass as a cut point.
    public var cutName: String?
    /// Identifies this flusher in the lease (host and process id by default).
    public var holder: String
    public var leaseTTLSeconds: Double = 60
    /// Events read from the coordination store per query.
    public var pageSize: Int = 5_000
    /// Where segment files are staged before they are published.
    public var spoolDirectory: String
    /// Written to `archiver.producer`.
    public var producer: String
    /// Stop after this many snapshots (nil: until caught up).
    public var maxSnapshots: Int?
    /// Crypto-shredding: the metadata member naming each event's subject; events with one are archived with
    /// their data encrypted under the subject's key (``SubjectEncryptor``).
    public var subjectField: String?
    /// Write a catalog checkpoint whenever this many snapshots were committed since the last one (0: never).
    public var checkpointEvery: Int = ArchiveCatalog.defaultCheckpointInterval
    /// Keep the lease after the pass instead of releasing it, so a long-running flusher (`archiver serve`)
    /// stays the one that flushes while it renews the lease within `leaseTTLSeconds`.
    public var keepsLease = false

    public init(cutName: String? = nil, holder: String? = nil, spoolDirectory: String? = nil, producer: String) {
        self.cutName = cutName
        self.holder = holder ?? "\(ProcessInfo.processInfo.hostName)/\(getpid())"
        self.spoolDirectory = spoolDirectory ?? NSTemporaryDirectory()
        self.producer = producer
    }
}

/// Moves committed events from the coordination store into the archive, exactly once.
///
/// One pass: take the flusher lease; finish any flush intent an earlier process left behind; then,
/// until the safe high-water mark is reached, build one snapshot at a time:
/// 1. read events after the cursor and encode them (hash chain) into per-partition segment files staged
///    on local disk (bounded memory);
/// 2. record the intent (snapshot id, position range, chain hashes) in the coordination store;
/// 3. publish the data objects create-only (an existing object is reused only if its content is identical);
/// 4. commit the Lode snapshot — the manifest is the commit and the cut point;
/// 5. advance the cursor and clear the intent in one fenced transaction.
/// Steps 3–5 of a snapshot run in a task of their own while the next snapshot is encoded (step 1, local files
/// only); the next intent (step 2) waits for them, so the durable steps keep their order.
/// A crash anywhere leaves a pending intent whose retry re-encodes the same range into the same keys.
///
/// ```swift
/// let flusher = Flusher(store: coordination, archive: archive, options: FlushOptions(producer: "lode-archiver"))
/// let summary = try await flusher.run()
/// ```
public struct Flusher: Sendable {
    public let store: any CoordinationStore
    public let archive: Archive
    public let options: FlushOptions
    public static let leaseName = "flusher"

    public init(store: any CoordinationStore, archive: Archive, options: FlushOptions) {
        self.store = store
        self.archive = archive
        self.options = options
    }

    /// Runs one flush pass.
    /// - Parameter progress: called after every snapshot and every few pages.
    /// - Throws: ``ArchiverError`` `.flushInProgress` if another flusher holds the lease; `.fenced` if the
    ///   lease was lost mid-flush; coordination and Lode errors as they come.
    public func run(progress: (@Sendable (FlushProgress) -> Void)? = nil) async throws -> FlushSummary {
        let started = ContinuousClock.now
        guard let lease = try await acquireLease() else {
            throw ArchiverError(
                .flushInProgress,
                "another flusher holds the flush lease; wait for it to finish (or for its lease to expire after "
                    + "\(Int(options.leaseTTLSeconds))s if it died)")
        }
        return try await LeaseHolder.releasing(
            Self.leaseName, in: store, holder: options.holder, release: !options.keepsLease
        ) {
            try await pass(holding: lease, started: started, progress: progress)
        }
    }

    /// One flush pass under `lease`: a pending intent first, then new snapshots up to the safe mark.
    private func pass(
        holding lease: Lease, started: ContinuousClock.Instant, progress: (@Sendable (FlushProgress) -> Void)?
    ) async throws -> FlushSummary {
        try archive.checkSettingsMatchArchive(await archive.events.head())

        var summary = FlushSummary()
        var catalog = CatalogProgress()
        // The backlog by positions, for progress: the store's full status counts every event (a scan of the
        // whole table on PostgreSQL, 0.14 s at 1M events, before the first page could be read).
        let backlog = max(0, try await store.safeHighWaterMark() - store.flushCursor().position)
        func elapsed() -> Double { Self.seconds(since: started) }

        if let pending = try await store.pendingFlushIntent() {
            let intent = pending.fencingToken == lease.fencingToken ? pending : try await adopt(pending, lease: lease)
            let batch = try await encode(range: intent)
            try await publishAndComplete(batch, intent: intent, summary: &summary, catalog: &catalog)
            summary.resumedIntent = true
            progress?(FlushProgress(events: summary.events, backlog: backlog, seconds: elapsed()))
        }

        let highWaterMark = try await store.safeHighWaterMark()
        // Pages read ahead, carried from one snapshot of the pass to the next.
        var prefetch: PagePrefetch?
        defer { prefetch?.cancel() }
        // Snapshot N is published, committed and completed by a task of its own while N+1 is encoded (from the
        // cursor N's completion will leave): its fsyncs and round trips overlap the encoding, which needs the
        // CPU. N+1's intent is recorded only once N completed, so the durable steps keep their order.
        var publishing: (task: Task<(FlushSummary, CatalogProgress), any Error>, events: Int64)?
        /// Waits for the snapshot being published, if any, and adds it to the summary.
        func awaitPublication() async throws {
            guard let running = publishing else { return }
            publishing = nil
            (summary, catalog) = try await Self.merged(summary, running.task.value)
            progress?(FlushProgress(events: summary.events, backlog: backlog, seconds: elapsed()))
        }
        var cursor = try await store.flushCursor()
        do {
            while options.maxSnapshots.map({ summary.snapshotIDs.count + (publishing == nil ? 0 : 1) < $0 }) ?? true {
                if cursor.position >= highWaterMark { break }
                _ = try await renew(lease)
                let snapshotID = SnapshotIDs.next(after: cursor.snapshotID)
                let done = summary.events + (publishing?.events ?? 0)
                guard
                    let batch = try await encodeNext(
                        after: cursor, upTo: highWaterMark, snapshotID: snapshotID, fencingToken: lease.fencingToken,
                        prefetch: &prefetch,
                        progress: { encoded in
                            progress?(FlushProgress(events: done + encoded, backlog: backlog, seconds: elapsed()))
                        })
                else { break }
                do {
                    try await awaitPublication()
                } catch {
                    batch.removeStagedFiles()
                    throw error
                }
                try await store.recordFlushIntent(batch.intent)
                CrashPoints.hit(.afterIntent)
                let passCatalog = catalog
                let task = Task { [self] () throws -> (FlushSummary, CatalogProgress) in
                    var part = FlushSummary()
                    var catalog = passCatalog
                    try await publishAndComplete(batch, intent: batch.intent, summary: &part, catalog: &catalog)
                    return (part, catalog)
                }
                publishing = (task, batch.intent.eventCount)
                cursor = FlushCursor(
                    position: batch.intent.lastPosition, chainHead: batch.intent.chainHead,
                    snapshotID: batch.intent.snapshotID, archivedCount: cursor.archivedCount + batch.intent.eventCount)
            }
            try await awaitPublication()
        } catch {
            // Never leave a publication running past the pass: the lease is released next.
            _ = try? await publishing?.task.value
            throw error
        }

        // A named cut on an idle store names the existing head, so `cut create` always yields a cut point.
        if let name = options.cutName, summary.cutName == nil {
            throw ArchiverError(
                .nothingToFlush,
                "nothing to flush, so no new snapshot can carry the cut point name '\(name)'; append events first")
        }
        summary.lastPosition = try await store.flushCursor().position
        summary.seconds = elapsed()
        return summary
    }

    /// `summary` followed by what one snapshot's publication added (`part`), and the catalog progress after it.
    static func merged(
        _ summary: FlushSummary, _ part: (FlushSummary, CatalogProgress)
    ) -> (FlushSummary, CatalogProgress) {
        var merged = summary
        let (added, catalog) = part
        merged.events += added.events
        merged.snapshotIDs += added.snapshotIDs
        merged.files += added.files
        merged.bytesIn += added.bytesIn
        merged.bytesOut += added.bytesOut
        merged.cutName = added.cutName ?? merged.cutName
        merged.checkpoints += added.checkpoints
        merged.notes += added.notes
        return (merged, catalog)
    }

    // MARK: - Encoding

    /// A snapshot staged on local disk, ready to publish.
    struct StagedSnapshot: Sendable {
        var intent: FlushIntent
        var files: [StagedPartitionFile]
        var recordsRoot: ChainHash
        var minRecordedAt: Int64
        var maxRecordedAt: Int64
        var bytesIn: Int64

        /// Deletes the staged files (after publishing them, or when the snapshot is abandoned).
        func removeStagedFiles() {
            files.forEach { try? FileManager.default.removeItem(atPath: $0.staged.path) }
        }
    }

    struct StagedPartitionFile: Sendable {
        var partition: [(key: String, value: String)]
        var staged: StagedFile
        var streamFilter: StreamFilter
    }

    /// Encodes the events after `cursor` into a new snapshot; nil when there is nothing to flush.
    func encodeNext(
        after cursor: FlushCursor, upTo highWaterMark: Int64, snapshotID: String, fencingToken: Int64,
        prefetch: inout PagePrefetch?, progress: (Int64) -> Void
    ) async throws -> StagedSnapshot? {
        guard let chainStart = ChainHash(hex: cursor.chainHead) else {
            throw ArchiverError(.unreadable, "the flush cursor's chain head '\(cursor.chainHead)' is not a hash")
        }
        let encryptor = options.subjectField.map { SubjectEncryptor(metadataField: $0, store: store) }
        var segment = SegmentBuilder(
            archive: archive, snapshotID: snapshotID, chain: chainStart, spoolDirectory: options.spoolDirectory)
        var after = cursor.position
        // True when the snapshot ended because of its size or partition limit, so more events follow.
        var stoppedAtLimit = false
        // Pages are no larger than a snapshot can hold (a record is at least ~200 bytes), so that small
        // snapshots (a sidecar flushing every few seconds) do not read and encode thousands of events to use a
        // few. The pass's next snapshot continues with the same prefetch.
        let pageSize = min(options.pageSize, max(32, archive.settings.targetSnapshotBytes / 128))
        if prefetch?.resumesAfter != cursor.position || prefetch?.bound != highWaterMark {
            prefetch?.cancel()
            prefetch = PagePrefetch(
                store: store, pageSize: pageSize, encryptor: encryptor, partitioning: archive.settings.partitioning,
                after: cursor.position, upTo: highWaterMark)
        }
        pages: while let (page, first) = try await prefetch!.next() {
            var next = first
            try page.forEach(from: first) { event in
                if segment.isFull(adding: event) {
                    stoppedAtLimit = true
                    return false
                }
                try segment.add(event, partition: page.partitions[event.slot])
                after = event.position
                next += 1
                return true
            }
            if stoppedAtLimit {
                prefetch!.putBack(page, from: next, after: after)
                break pages
            }
            progress(segment.count)
        }
        if !stoppedAtLimit {
            prefetch?.cancel()
            prefetch = nil
        }
        guard segment.count > 0 else {
            segment.discard()
            return nil
        }
        let intent = FlushIntent(
            snapshotID: snapshotID, firstPosition: segment.firstPosition, lastPosition: segment.lastPosition,
            eventCount: segment.count, chainStart: chainStart.hex, chainHead: segment.chain.hex,
            parentSnapshotID: cursor.snapshotID, cutName: stoppedAtLimit ? nil : options.cutName,
            fencingToken: fencingToken)
        return try segment.finish(intent: intent)
    }

    /// Re-encodes exactly the range of a pending intent; the bytes must reproduce its chain head.
    func encode(range intent: FlushIntent) async throws -> StagedSnapshot {
        guard let chainStart = ChainHash(hex: intent.chainStart) else {
            throw ArchiverError(.unreadable, "pending flush intent has a malformed chain start")
        }
        let encryptor = options.subjectField.map { SubjectEncryptor(metadataField: $0, store: store) }
        var segment = SegmentBuilder(
            archive: archive, snapshotID: intent.snapshotID, chain: chainStart,
            spoolDirectory: options.spoolDirectory)
        let pageSize = Int(min(Int64(options.pageSize), max(1, intent.eventCount)))
        var prefetch = PagePrefetch(
            store: store, pageSize: pageSize, encryptor: encryptor, partitioning: archive.settings.partitioning,
            after: intent.firstPosition - 1, upTo: intent.lastPosition)
        defer { prefetch.cancel() }
        while let (page, _) = try await prefetch.next() {
            try page.forEach { event in
                try segment.add(event, partition: page.partitions[event.slot])
                return true
            }
        }
        guard segment.count == intent.eventCount, segment.chain.hex == intent.chainHead else {
            segment.discard()
            throw ArchiverError(
                .hotStoreChanged,
                "the events of the unfinished flush \(intent.snapshotID) (positions \(intent.firstPosition)..."
                    + "\(intent.lastPosition)) changed in the coordination store: expected \(intent.eventCount) "
                    + "events ending in chain hash \(intent.chainHead.prefix(12))…, found \(segment.count) ending in "
                    + "\(segment.chain.hex.prefix(12))…; restore the store from a backup or the archive")
        }
        return try segment.finish(intent: intent)
    }

    /// Takes over an intent recorded under an older lease: same snapshot id and range, new token.
    func adopt(_ pending: FlushIntent, lease: Lease) async throws -> FlushIntent {
        var intent = pending
        intent.fencingToken = lease.fencingToken
        try await store.abandonFlushIntent(snapshotID: pending.snapshotID)
        try await store.recordFlushIntent(intent)
        return intent
    }

    /// Takes the flush lease; a lease held by a process of this host that no longer exists (a flusher
    /// that was killed) is taken over at once instead of waiting for it to expire.
    func acquireLease() async throws -> Lease? {
        try await LeaseHolder.acquire(
            Self.leaseName, in: store, holder: options.holder, ttlSeconds: options.leaseTTLSeconds)
    }

    func renew(_ lease: Lease) async throws -> Lease {
        guard
            let renewed = try await LeaseHolder.renew(
                lease, in: store, holder: options.holder, ttlSeconds: options.leaseTTLSeconds)
        else {
            throw ArchiverError(.fenced, "this flusher lost its lease to another flusher; its work is left to that one")
        }
        return renewed
    }

    // MARK: - Publishing

    func publishAndComplete(
        _ batch: StagedSnapshot, intent: FlushIntent, summary: inout FlushSummary, catalog: inout CatalogProgress
    ) async throws {
        defer { batch.removeStagedFiles() }
        var refs: [FileRef] = []
        for file in batch.files {
            let key = archive.events.dataFileKey(snapshotID: intent.snapshotID, partition: file.partition)
            refs.append(try await publish(file.staged, key: key))
            CrashPoints.hit(.afterSegment)
        }
        let committed = try await commitManifest(batch, intent: intent, files: refs)
        CrashPoints.hit(.afterManifest)
        try await store.completeFlush(intent)
        await checkpointIfDue(head: committed, summary: &summary, catalog: &catalog)
        summary.events += intent.eventCount
        summary.snapshotIDs.append(intent.snapshotID)
        summary.files += refs.count
        summary.bytesIn += batch.bytesIn
        summary.bytesOut += refs.reduce(0) { $0 + $1.sizeBytes }
        if intent.cutName != nil { summary.cutName = intent.cutName }
    }

    /// Puts one staged file create-only. If the key exists (a retry after a crash), the existing object is
    /// reused only when its decompressed content equals the staged file's.
    func publish(_ staged: StagedFile, key: String) async throws -> FileRef {
        do {
            return try await archive.events.publish(staged, as: key)
        } catch let error as LodeError where error.code == .pathExists {
            // Same key, different bytes: compressed output may differ between library versions, so compare
            // what matters, the records.
            let existing = try await archive.store.get(key)
            let ours = try archive.decompress(Array(try Data(contentsOf: URL(fileURLWithPath: staged.path))))
            guard (try? archive.decompress(existing)) == ours else {
                throw ArchiverError(
                    .objectMismatch,
                    "archive object \(key) already exists with different content than this flush produces; "
                        + "something else wrote into the archive: run `archiver verify` and inspect it")
            }
            return FileRef(
                path: key, sizeBytes: Int64(existing.count),
                checksum: Insecure.MD5.hash(data: existing).map { String(format: "%02x", $0) }.joined())
        }
    }

    /// What a pass knows about the catalog: the newest checkpoint's sequence, once read.
    struct CatalogProgress: Sendable {
        var throughSequence: Int64?
    }

    /// Writes a catalog checkpoint when `checkpointEvery` snapshots were committed since the last one. The
    /// newest checkpoint is read once per pass, so a flush costs no extra store reads until one is due. A
    /// checkpoint is derived data: a failure is noted, never fails the flush (the next pass tries again).
    func checkpointIfDue(head: Manifest, summary: inout FlushSummary, catalog progress: inout CatalogProgress) async {
        guard options.checkpointEvery > 0 else { return }
        do {
            let catalog = try ArchiveCatalog(archive: archive)
            if let written = try await catalog.checkpointIfDue(
                every: options.checkpointEvery, head: head, throughSequence: &progress.throughSequence)
            {
                summary.checkpoints.append(written.snapshotID)
            }
        } catch {
            progress.throughSequence = nil
            summary.notes.append("catalog checkpoint not written (readers fall back to the manifests): \(error)")
        }
    }

    /// Commits the snapshot's manifest (or finds it committed by an earlier attempt) and returns it.
    func commitManifest(_ batch: StagedSnapshot, intent: FlushIntent, files: [FileRef]) async throws -> Manifest {
        let events = archive.events
        // Crash after the manifest but before the cursor moved: the snapshot is already committed. (Look for
        // the canonical manifest directly: `manifest(_:)` would scan the whole hive dataset when it is missing.)
        if try await archive.store.exists(events.manifestKey(snapshotID: intent.snapshotID)),
            let existing = try? await events.manifest(intent.snapshotID)
        {
            let facts = try ArchiveMetadata(entries: existing.stringMetadata)
            guard facts.firstPosition == intent.firstPosition, facts.lastPosition == intent.lastPosition,
                facts.chainHead.hex == intent.chainHead
            else {
                throw ArchiverError(
                    .objectMismatch,
                    "snapshot \(intent.snapshotID) is already committed with positions \(facts.firstPosition)..."
                        + "\(facts.lastPosition), not the pending flush's \(intent.firstPosition)..."
                        + "\(intent.lastPosition); run `archiver verify`")
            }
            return existing
        }
        var parentManifestSHA = ""
        var sequence: Int64 = 1
        if !intent.parentSnapshotID.isEmpty {
            let parent = try await archive.parentLink(snapshotID: intent.parentSnapshotID)
            parentManifestSHA = parent.manifestSHA256
            sequence = parent.sequence + 1
        }
        var facts = ArchiveMetadata(
            firstPosition: intent.firstPosition, lastPosition: intent.lastPosition, eventCount: intent.eventCount,
            chainStart: ChainHash(hex: intent.chainStart) ?? .genesis, chainHead: ChainHash(hex: intent.chainHead)!,
            parentManifestSHA256: parentManifestSHA, cutName: intent.cutName, producer: options.producer,
            fencingToken: intent.fencingToken, minRecordedAtNanos: batch.minRecordedAt,
            maxRecordedAtNanos: batch.maxRecordedAt)
        facts.recordsRoot = batch.recordsRoot
        facts.sequence = sequence
        // One filter per file, in the manifest's `files` order (sorted by path bytes).
        let filters = zip(files, batch.files).map { (path: $0.path, filter: $1.streamFilter.text) }
            .sorted { $0.path.utf8.lexicographicallyPrecedes($1.path.utf8) }
        facts.streamFilters = filters.map(\.filter).joined(separator: " ")
        var metadata = facts.entries
        if let signer = archive.signer {
            metadata[ArchiveSigning.signatureKey] = try signer.sign(
                ArchiveSigning.digest(
                    datasetID: events.id, snapshotID: intent.snapshotID,
                    parentSnapshotID: intent.parentSnapshotID, files: files, metadata: metadata))
            metadata[ArchiveSigning.keyIDKey] = signer.keyID
        }
        CrashPoints.hit(.beforeManifest)
        return try await events.commit(
            snapshotID: intent.snapshotID, files: files, rowCount: intent.eventCount,
            metadata: metadata.mapValues { JSONValue.string($0) },
            minTimestamp: ArchiveTime.rfc3339Micros(batch.minRecordedAt),
            maxTimestamp: ArchiveTime.rfc3339Micros(batch.maxRecordedAt),
            partitionPaths: batch.files.map { LodeLayout.partitionPath($0.partition) }.filter { !$0.isEmpty },
            expectedParent: intent.parentSnapshotID)
    }

    static func seconds(since start: ContinuousClock.Instant) -> Double {
        let d = ContinuousClock.now - start
        return Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18
    }
}

/// Reads pages of events and encodes them ahead of the flusher, up to ``depth`` pages in flight.
///
/// Each read starts as soon as the read before it has returned (it continues after that page's last
/// position), so the store produces page N+1 while page N is encoded on another thread and page N-1 is sealed
/// and compressed by the flusher. Encoding a page prepares its events (subject encryption when configured),
/// encodes each record's body and numbers its partition, so the flusher's loop touches no `String`. Pages are
/// encoded in order: each takes the encryptor's and the partition numbering's state from the page before.
/// Reading stops after a short page or one reaching `bound`.
///
/// A snapshot that fills up inside a page hands the rest back (``putBack(_:from:after:)``), and the next
/// snapshot of the pass continues with the same prefetch instead of reading those pages again.
struct PagePrefetch {
    /// Pages read or being read ahead of the one the flusher seals. Three keep the store, the encoding and
    /// the sealing busy at once; each costs about two page sizes of memory (read and encoded).
    static let depth = 3

    typealias State = (encryptor: SubjectEncryptor?, slots: PartitionSlots)
    private typealias Encoded = (page: EncodedPage, state: State)

    let store: any CoordinationStore
    let pageSize: Int
    /// Events after this position are not read.
    let bound: Int64
    private let start: Int64
    private let initialState: State
    private var lastRead: Task<PackedEvents, any Error>?
    private var lastEncoded: Task<Encoded, any Error>?
    private var ahead: [Task<Encoded, any Error>] = []
    /// The rest of a page a snapshot ended in: its events from `next` on come first.
    private var current: (page: EncodedPage, next: Int)?
    /// The position of the event before the next one ``next()`` returns, when known (after ``putBack``).
    private(set) var resumesAfter: Int64

    init(
        store: any CoordinationStore, pageSize: Int, encryptor: SubjectEncryptor?, partitioning: ArchivePartitioning,
        after position: Int64, upTo bound: Int64
    ) {
        self.store = store
        self.pageSize = pageSize
        self.bound = bound
        self.start = position
        self.resumesAfter = position
        self.initialState = (encryptor, PartitionSlots(partitioning: partitioning))
        for _ in 0..<Self.depth { schedule() }
    }

    /// The next page and the index of its first event not yet taken; nil when every event up to `bound` was
    /// taken.
    mutating func next() async throws -> (page: EncodedPage, from: Int)? {
        if let (page, next) = current {
            current = nil
            return (page, next)
        }
        guard !ahead.isEmpty else { return nil }
        let task = ahead.removeFirst()
        schedule()
        let page = try await task.value.page
        return page.isEmpty ? nil : (page, 0)
    }

    /// Gives back the events of `page` from index `next` on (a snapshot filled up before them); `after` is the
    /// position of the last event taken.
    mutating func putBack(_ page: EncodedPage, from next: Int, after: Int64) {
        current = next < page.count ? (page, next) : nil
        resumesAfter = after
    }

    func cancel() {
        lastRead?.cancel()
        for task in ahead { task.cancel() }
    }

    /// Starts reading and encoding the page after the last one started.
    private mutating func schedule() {
        let (store, pageSize, bound, start) = (self.store, self.pageSize, self.bound, self.start)
        let previousRead = lastRead
        let read = Task {
            var after = start
            if let previousRead {
                let previous = try await previousRead.value
                guard previous.count == pageSize, let last = previous.positions.last, last < bound else {
                    return PackedEvents()
                }
                after = last
            }
            try Task.checkCancellation()
            return try await store.readAllPacked(after: after, limit: pageSize)
        }
        let previousEncoded = lastEncoded
        let initialState = self.initialState
        let encoded = Task { () throws -> Encoded in
            var (encryptor, slots) = try await previousEncoded?.value.state ?? initialState
            var events = try await read.value
            if var subjects = encryptor {
                // Subject encryption rewrites `data` (and needs the store for keys).
                var prepared: [RecordedEvent] = []
                for event in events.events() { prepared.append(try await subjects.prepare(event)) }
                events = PackedEvents(prepared)
                encryptor = subjects
            }
            var page = EncodedPage()
            page.reserve(events.count)
            // The page's bodies are written into one buffer sized for the most they can take.
            var limit = 0
            events.forEach { event in
                limit += RecordEncoder.maxBodyBytes(
                    stream: event.stream.count, id: event.id.count, type: event.type.count, data: event.data.count,
                    metadata: event.metadata.count)
            }
            let bodies = [UInt8](unsafeUninitializedCapacity: max(limit, 1)) { buffer, initialized in
                let base = UnsafeMutableRawPointer(buffer.baseAddress!)
                var written = 0
                events.forEach { event in
                    guard event.position <= bound else { return }
                    written += RecordEncoder.writeBody(
                        position: event.position, stream: event.stream, version: event.version, id: event.id,
                        type: event.type, recordedAtNanos: event.recordedAtNanos, data: event.data,
                        metadata: event.metadata, to: base + written)
                    let streamHash = StreamHash.fnv1a64(bytes: event.stream)
                    let (slot, stream) = slots.slot(
                        stream: event.stream, hash: streamHash, recordedAtNanos: event.recordedAtNanos)
                    page.positions.append(event.position)
                    page.recordedAts.append(event.recordedAtNanos)
                    page.slots.append(Int32(slot))
                    page.streams.append(Int32(clamping: stream))
                    page.streamHashes.append(streamHash)
                    page.bodyEnds.append(written)
                }
                precondition(written <= limit, "record bodies overran their buffer")
                initialized = written
            }
            page.bodies = bodies
            page.partitions = slots.values
            return (page, (encryptor: encryptor, slots: slots))
        }
        lastRead = read
        lastEncoded = encoded
        ahead.append(encoded)
    }
}

/// Numbers the partitions (e.g. category and day) that events fall into: the flusher finds a partition's file
/// by its number instead of hashing the stream name and building the partition strings per event.
struct PartitionSlots: Sendable {
    let partitioning: ArchivePartitioning
    /// Each slot's partition values, in ``ArchivePartitioning/keys`` order.
    private(set) var values: [[String]] = []
    private var slotOfValues: [[String]: Int] = [:]
    /// Each stream's slot for the day it was last seen on (a stream keeps its category). A cache: it starts over
    /// after ``maxStreams`` streams, so a pass over millions of streams keeps bounded memory.
    private var byStream = StreamTable<(day: Int64, slot: Int)>()
    /// The stream numbers handed out before `byStream` last started over: numbers never repeat.
    private var numberBase = 0
    static let maxStreams = 1 << 16

    init(partitioning: ArchivePartitioning) {
        self.partitioning = partitioning
    }

    /// The slot of an event of the stream whose UTF-8 name is `stream` and ``StreamHash`` is `hash`, and a
    /// number for the stream (0, 1, 2… in order of first appearance). A number names one stream only; a stream
    /// seen again after the cache started over gets a new one.
    mutating func slot(
        stream: UnsafeRawBufferPointer, hash: UInt64, recordedAtNanos: Int64
    ) -> (
        slot: Int, stream: Int
    ) {
        let nanosPerDay: Int64 = 86_400_000_000_000
        let (quotient, remainder) = recordedAtNanos.quotientAndRemainder(dividingBy: nanosPerDay)
        let day = remainder < 0 ? quotient - 1 : quotient
        if byStream.count >= Self.maxStreams {
            numberBase += byStream.count
            byStream = StreamTable()
        }
        let entry = byStream.entry(hash: hash, name: stream) { (day: Int64.min, slot: -1) }
        if byStream[entry].day == day { return (byStream[entry].slot, numberBase + entry) }
        let name = String(decoding: stream, as: UTF8.self)
        let partition = partitioning.values(stream: name, recordedAtNanos: recordedAtNanos)
        let slot: Int
        if let known = slotOfValues[partition] {
            slot = known
        } else {
            slot = values.count
            values.append(partition)
            slotOfValues[partition] = slot
        }
        byStream[entry] = (day, slot)
        return (slot, numberBase + entry)
    }
}

/// A page of events ready to archive: each record's body (everything the chain hash covers) encoded, with the
/// few facts the flusher needs per event.
struct EncodedPage: Sendable {
    var positions: [Int64] = []
    var recordedAts: [Int64] = []
    /// Each event's ``PartitionSlots`` number; `partitions[slot]` are its partition values.
    var slots: [Int32] = []
    var partitions: [[String]] = []
    /// Each event's stream number (``PartitionSlots`` numbers streams as it meets them) and
    /// ``StreamHash/fnv1a64(_:)``, for the files' stream filters.
    var streams: [Int32] = []
    var streamHashes: [UInt64] = []
    var bodies: [UInt8] = []
    /// `bodies[bodyEnds[i - 1]..<bodyEnds[i]]` is event `i`'s body.
    var bodyEnds: [Int] = []

    var count: Int { positions.count }
    var isEmpty: Bool { positions.isEmpty }

    mutating func reserve(_ count: Int) {
        positions.reserveCapacity(count)
        recordedAts.reserveCapacity(count)
        slots.reserveCapacity(count)
        streams.reserveCapacity(count)
        streamHashes.reserveCapacity(count)
        bodyEnds.reserveCapacity(count)
    }

    /// Calls `body` with each event from index `first` on, in order, until it returns false.
    func forEach(from first: Int = 0, _ body: (PageEvent) throws -> Bool) rethrows {
        try bodies.withUnsafeBytes { raw in
            var start = first == 0 ? 0 : bodyEnds[first - 1]
            for index in first..<positions.count {
                let end = bodyEnds[index]
                let event = PageEvent(
                    position: positions[index], recordedAtNanos: recordedAts[index], slot: Int(slots[index]),
                    stream: Int(streams[index]), streamHash: streamHashes[index],
                    body: UnsafeRawBufferPointer(rebasing: raw[start..<end]))
                guard try body(event) else { return }
                start = end
            }
        }
    }
}

/// One event of an ``EncodedPage``; `body` is valid only during the call that receives it.
struct PageEvent {
    var position: Int64
    var recordedAtNanos: Int64
    var slot: Int
    var stream: Int
    var streamHash: UInt64
    var body: UnsafeRawBufferPointer
}

/// Lease holder names are `host/pid`.
enum LeaseHolder {
    /// True if `holder` names a process on this host that no longer exists.
    static func isDeadLocalProcess(_ holder: String) -> Bool {
        guard let slash = holder.lastIndex(of: "/"), let pid = pid_t(holder[holder.index(after: slash)...]),
            holder[..<slash] == ProcessInfo.processInfo.hostName, pid > 0
        else { return false }
        return kill(pid, 0) != 0 && errno == ESRCH
    }

    /// Takes the lease `name`; one held by a process of this host that no longer exists (killed) is taken over
    /// at once instead of waiting for it to expire. nil when a live holder has it.
    static func acquire(
        _ name: String, in store: any CoordinationStore, holder: String, ttlSeconds: Double
    ) async throws -> Lease? {
        if let lease = try await store.acquireLease(name, holder: holder, ttlSeconds: ttlSeconds) { return lease }
        guard let current = try await store.currentLease(name), isDeadLocalProcess(current.holder) else { return nil }
        return try await store.takeOverLease(name, from: current.holder, holder: holder, ttlSeconds: ttlSeconds)
    }

    /// Runs `body`, then releases the lease `name` of `holder` when `release` is true, also when `body` throws.
    /// The release is awaited: one left to a detached task could land after the same holder's next pass had
    /// taken the lease again, and fence that pass.
    static func releasing<T>(
        _ name: String, in store: any CoordinationStore, holder: String, release: Bool = true,
        _ body: () async throws -> T
    ) async throws -> T {
        let result: T
        do {
            result = try await body()
        } catch {
            if release { try? await store.releaseLease(name, holder: holder) }
            throw error
        }
        if release { try? await store.releaseLease(name, holder: holder) }
        return result
    }

    /// Renews `lease`; nil when it was lost (another holder took it, so its fencing token changed).
    static func renew(
        _ lease: Lease, in store: any CoordinationStore, holder: String, ttlSeconds: Double
    ) async throws -> Lease? {
        guard let renewed = try await store.acquireLease(lease.name, holder: holder, ttlSeconds: ttlSeconds),
            renewed.fencingToken == lease.fencingToken
        else { return nil }
        return renewed
    }
}
