import ArchiveFormat
import Coordination
import Foundation
import Lode

extension Flusher {
    /// A snapshot staged on local disk, ready to publish.
    struct StagedSnapshot: Sendable {
        var intent: FlushIntent
        /// The record format of every file (the archive's: one format per snapshot).
        var format: RecordFormat
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
        var chain: FileChain
        /// Its frame index (nil when its compressor writes no independent frames).
        var frames: [ArchiveFrame]?
    }

    /// Encodes the events after `cursor` into a new snapshot; nil when there is nothing to flush.
    func encodeNext(
        after cursor: FlushCursor, upTo highWaterMark: Int64, snapshotID: String, fencingToken: Int64,
        format: RecordFormat, prefetch: inout PagePrefetch?, progress: (Int64) -> Void
    ) async throws -> StagedSnapshot? {
        guard let chainStart = ChainHash(hex: cursor.chainHead) else {
            throw ArchiverError(.unreadable, "the flush cursor's chain head '\(cursor.chainHead)' is not a hash")
        }
        let encryptor = options.subjectField.map { SubjectEncryptor(metadataField: $0, store: store) }
        var segment = SegmentBuilder(
            archive: archive, snapshotID: snapshotID, chain: chainStart, format: format,
            spoolDirectory: options.spoolDirectory)
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
        return try await segment.finish(intent: intent)
    }

    /// Re-encodes exactly the range of a pending intent; the bytes must reproduce its chain head.
    func encode(range intent: FlushIntent, format: RecordFormat) async throws -> StagedSnapshot {
        guard let chainStart = ChainHash(hex: intent.chainStart) else {
            throw ArchiverError(.unreadable, "pending flush intent has a malformed chain start")
        }
        let encryptor = options.subjectField.map { SubjectEncryptor(metadataField: $0, store: store) }
        var segment = SegmentBuilder(
            archive: archive, snapshotID: intent.snapshotID, chain: chainStart, format: format,
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
        return try await segment.finish(intent: intent)
    }

    /// Re-encodes a pending intent in the record format of the data objects an earlier attempt published, when
    /// that differs from `format`: an `archiver format upgrade` between the crash and the retry must not make
    /// the retry's objects differ from those already in the archive (the snapshot stays in one format).
    func encode(retrying intent: FlushIntent, format: RecordFormat) async throws -> StagedSnapshot {
        let batch = try await encode(range: intent, format: format)
        guard let published = try await publishedFormat(of: batch), published != format else { return batch }
        batch.removeStagedFiles()
        return try await encode(range: intent, format: published)
    }

    /// The record format of the first of `batch`'s data objects already in the archive (read from its first
    /// record), or nil when none is.
    private func publishedFormat(of batch: StagedSnapshot) async throws -> RecordFormat? {
        for file in batch.files {
            let key = archive.events.dataFileKey(snapshotID: batch.intent.snapshotID, partition: file.partition)
            guard try await archive.store.exists(key) else { continue }
            let content = try archive.decompress(try await archive.store.get(key))
            guard let end = content.firstIndex(of: UInt8(ascii: "\n")) else { return nil }
            let fields = try content.withUnsafeBytes { try RecordDecoder.decode(.init(rebasing: $0[..<end])) }
            return fields.format
        }
        return nil
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
}
