import ArchiveFormat
import Coordination
import Crypto
import Foundation
import Lode
import RawJSON

extension Flusher {
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
                checksum: HexCoding.encode(Insecure.MD5.hash(data: existing)))
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
            // A crash between the canonical manifest and its hive partition copies: write the missing copies
            // (create-only, from the canonical bytes), or readers of a partition never see this snapshot.
            try await events.repairPartitionCopies(of: existing)
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
        facts.format = batch.format
        facts.recordsRoot = batch.recordsRoot
        facts.sequence = sequence
        // One filter (and in v2 one chain pair and frame list) per file, in the manifest's `files` order (sorted by
        // path bytes).
        let perFile = zip(files, batch.files).map {
            (path: $0.path, filter: $1.streamFilter.text, chain: $1.chain, frames: $1.frames)
        }.sorted { $0.path.utf8.lexicographicallyPrecedes($1.path.utf8) }
        facts.streamFilters = perFile.map(\.filter).joined(separator: " ")
        if batch.format != .v1 {
            facts.fileChains = perFile.map(\.chain)
            facts.fileFrames = ArchiveFrame.snapshotIndex(perFile.map(\.frames))
        }
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
            minTimestamp: ArchiveTime.rfc3339Trimmed(batch.minRecordedAt),
            maxTimestamp: ArchiveTime.rfc3339Trimmed(batch.maxRecordedAt),
            partitionPaths: batch.files.map { LodeLayout.partitionPath($0.partition) }.filter { !$0.isEmpty },
            expectedParent: intent.parentSnapshotID,
            afterCanonicalManifest: { CrashPoints.hit(.afterCanonicalManifest) })
    }
}
