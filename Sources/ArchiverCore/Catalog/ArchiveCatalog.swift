import ArchiveFormat
import Crypto
import Foundation
public import Lode
import RawJSON

/// A catalog checkpoint: one snapshot of the `catalog` dataset, listing every events snapshot up to and
/// including `throughSnapshotID` (the role Delta Lake's checkpoints play).
public struct CatalogCheckpoint: Sendable {
    /// The catalog snapshot's manifest; its `files` are the checkpoint's parts.
    public var manifest: Manifest
    /// The last events snapshot the checkpoint covers, and its sequence number (= number of entries).
    public var throughSnapshotID: String
    public var throughSequence: Int64
    public var lastPosition: Int64
    public var chainHead: String
    /// `archiver.catalog_format`: "2" (parts of at most ``ArchiveCatalog/maxPartEntries`` entries, each
    /// summarised in the manifest), or "1" (no summaries, parts of any size), which readers still use.
    public var format: String

    public var snapshotID: String { manifest.snapshotID }
}

/// Catalog checkpoints of the events dataset: derived data that lets readers find the snapshots of a cut by
/// reading the newest checkpoint plus the manifests after it, instead of every manifest of the chain.
///
/// A checkpoint is a snapshot of the Lode dataset `catalog` (default layout, zstd JSONL, MD5). Each of its
/// data files (a *part*) holds one line per events snapshot, in sequence order: the snapshot's id, parent,
/// sequence, creation time, row count, timestamps, its string metadata (position range, event count, chain
/// hashes, cut name, signature, per-file stream filters) and its files (path, size, MD5). A checkpoint lists
/// every part it consists of, including parts an earlier checkpoint wrote: parts are immutable and shared, and
/// adjacent parts are merged when the newest is at least as large as the one before (a binary counter) and
/// the merged part holds at most ``maxPartEntries`` entries. A checkpoint therefore has n / 4096 full parts
/// plus O(log 4096) smaller ones, and no write or read handles more than one part's entries at a time.
///
/// The catalog manifest summarises each part (`archiver.parts`: sequences, first and last snapshot, position
/// and time range, cut names), so planning a replay reads the catalog manifest, the events manifests after
/// the checkpoint and at most the one part that holds the selected cut; the reader then decodes the parts one
/// at a time as it reaches them (``ReadPlan``). See docs/FORMAT.md.
///
/// Checkpoints are never the truth: a missing, damaged or disagreeing checkpoint makes readers fall back to
/// the manifests (with a note), `archiver catalog rebuild` writes a fresh one, and `verify` compares them.
///
/// ```swift
/// let catalog = try ArchiveCatalog(archive: archive)
/// try await catalog.rebuild()
/// let plan = try await archive.plan(to: .latest)   // reads the checkpoint's manifest + the manifests after it
/// ```
public struct ArchiveCatalog: Sendable {
    public static let defaultCheckpointInterval = 1000
    /// The format this archiver writes. Readers also accept ``formatVersion1``.
    public static let formatVersion = "2"
    public static let formatVersion1 = "1"
    /// The most entries one part holds: what a reader decodes to resolve a selector, and the most it holds
    /// in memory as compressed bytes at a time.
    public static let maxPartEntries: Int64 = 4096
    /// Entries decoded at a time by readers.
    static let batchEntries = 512

    public let archive: Archive
    public let dataset: LodeDataset

    public init(archive: Archive) throws {
        self.archive = archive
        self.dataset = try archive.sideDataset("catalog")
    }

    enum Key {
        static let format = "archiver.catalog_format"
        static let events = "archiver.events_dataset"
        static let through = "archiver.through_snapshot"
        static let throughSequence = "archiver.through_sequence"
        static let lastPosition = "archiver.last_position"
        static let chainHead = "archiver.chain_head"
        static let codec = "archiver.events_codec"
        static let compressor = "archiver.events_compressor"
        static let partitioner = "archiver.events_partitioner"
        static let checksum = "archiver.events_checksum"
        static let parts = "archiver.parts"
    }

    /// One events snapshot as the catalog records it.
    struct Entry: Sendable {
        var sequence: Int64
        var manifest: Manifest
    }

    // MARK: Reading

    /// The newest checkpoint, or nil when none was written yet.
    /// - Throws: Lode errors for a damaged catalog manifest; ``ArchiverError`` `.unreadable` for one that is
    ///   not a checkpoint.
    public func latest() async throws -> CatalogCheckpoint? {
        guard let manifest = try await dataset.head() else { return nil }
        return try checkpoint(manifest)
    }

    func checkpoint(_ manifest: Manifest) throws -> CatalogCheckpoint {
        let m = manifest.stringMetadata
        guard let format = m[Key.format], format == Self.formatVersion || format == Self.formatVersion1,
            let through = m[Key.through],
            let sequence = m[Key.throughSequence].flatMap(Int64.init),
            let lastPosition = m[Key.lastPosition].flatMap(Int64.init), let chainHead = m[Key.chainHead]
        else {
            throw ArchiverError(
                .unreadable,
                "catalog snapshot \(manifest.snapshotID) is not a catalog checkpoint of format "
                    + "\(Self.formatVersion1) or \(Self.formatVersion) "
                    + "(\(dataset.manifestKey(snapshotID: manifest.snapshotID)))")
        }
        return CatalogCheckpoint(
            manifest: manifest, throughSnapshotID: through, throughSequence: sequence, lastPosition: lastPosition,
            chainHead: chainHead, format: format)
    }

    /// The checkpoint's entries in sequence order, checked to be complete: sequences 1…n without gaps, each
    /// naming the previous as its parent, ending at the checkpoint's `through` snapshot.
    func entries(of checkpoint: CatalogCheckpoint) async throws -> [Entry] {
        let manifest = checkpoint.manifest
        let components = self.components(of: checkpoint)
        let dataset = self.dataset
        var parts = [[Entry]](repeating: [], count: manifest.files.count)
        try await withThrowingTaskGroup(of: (Int, [Entry]).self) { group in
            var next = 0
            func add() {
                let index = next
                let ref = manifest.files[index]
                next += 1
                group.addTask {
                    let bytes = try await dataset.readFile(ref, manifest: manifest)
                    return (index, try Self.decodePart(bytes, key: ref.path, components: components))
                }
            }
            while next < min(manifest.files.count, 8) { add() }
            while let (index, entries) = try await group.next() {
                parts[index] = entries
                if next < manifest.files.count { add() }
            }
        }
        let entries = parts.flatMap { $0 }.sorted { $0.sequence < $1.sequence }
        let location = dataset.manifestKey(snapshotID: manifest.snapshotID)
        for (index, entry) in entries.enumerated() {
            let previous = index > 0 ? entries[index - 1].manifest.snapshotID : nil
            guard entry.sequence == Int64(index + 1), entry.manifest.parent == previous else {
                throw ArchiverError(
                    .unreadable,
                    "catalog checkpoint \(location) is inconsistent at sequence \(index + 1) (snapshot "
                        + "\(entry.manifest.snapshotID)): entries are missing, duplicated or out of chain order")
            }
        }
        guard entries.count == checkpoint.throughSequence,
            entries.last?.manifest.snapshotID == checkpoint.throughSnapshotID
        else {
            throw ArchiverError(
                .unreadable,
                "catalog checkpoint \(location) holds \(entries.count) entries ending at "
                    + "\(entries.last?.manifest.snapshotID ?? "nothing"), but its manifest says "
                    + "\(checkpoint.throughSequence) ending at \(checkpoint.throughSnapshotID)")
        }
        return entries
    }

    // MARK: Writing

    /// Writes a checkpoint through the events head when at least `every` snapshots were committed since the
    /// newest checkpoint; returns it, or nil when none is due (or the head predates `archiver.sequence`).
    @discardableResult
    public func checkpointIfDue(every: Int) async throws -> CatalogCheckpoint? {
        guard let head = try await archive.events.head() else { return nil }
        var through: Int64? = nil
        return try await checkpointIfDue(every: every, head: head, throughSequence: &through)
    }

    /// As ``checkpointIfDue(every:)`` for a known head; `throughSequence` caches the newest checkpoint's
    /// sequence between calls (nil: read it), so a writer pays no store reads until a checkpoint is due.
    public func checkpointIfDue(
        every: Int, head: Manifest, throughSequence: inout Int64?
    ) async throws
        -> CatalogCheckpoint?
    {
        guard every > 0, let headSequence = try ArchiveMetadata(entries: head.stringMetadata).sequence else {
            return nil
        }
        var previous: CatalogCheckpoint?
        if throughSequence == nil {
            previous = try await latest()
            throughSequence = previous?.throughSequence ?? 0
        }
        guard headSequence - (throughSequence ?? 0) >= Int64(every) else { return nil }
        if previous == nil { previous = try await latest() }
        let written = try await write(head: head, previous: previous)
        throughSequence = written.throughSequence
        return written
    }

    /// Writes a fresh checkpoint through the events head from the manifests alone (a full chain walk), with
    /// new parts that share nothing with earlier checkpoints.
    /// - Returns: the checkpoint, or nil for an empty archive.
    @discardableResult
    public func rebuild() async throws -> CatalogCheckpoint? {
        guard let head = try await archive.events.head() else { return nil }
        let chain = try await archive.events.history(upTo: head.snapshotID)
        let previous = try? await dataset.head()
        return try await commit(
            newParts: try Self.pendingParts(chain, after: 0), keptParts: [], through: head,
            parent: previous?.snapshotID)
    }

    /// Appends the manifests after `previous` (walking parent links back from `head`) as a new part.
    func write(head: Manifest, previous: CatalogCheckpoint?) async throws -> CatalogCheckpoint {
        var tail = [head]
        var current = head
        while let parent = current.parent, parent != previous?.throughSnapshotID {
            current = try await archive.events.manifest(parent)
            tail.append(current)
        }
        tail.reverse()
        // A checkpoint of another history (the walk reached the root without meeting it) is not reused.
        let base = previous.flatMap { current.parent == $0.throughSnapshotID ? $0 : nil }
        guard let base else {
            // The walk went back to the first snapshot: `tail` is the whole chain.
            return try await commit(
                newParts: try Self.pendingParts(tail, after: 0), keptParts: [], through: head,
                parent: previous?.snapshotID)
        }
        var kept = try parts(of: base)
        if kept.contains(where: { $0.summary == nil || $0.count > Self.maxPartEntries }) {
            // A format-1 checkpoint: its entries are written again as summarised parts of the current format.
            let entries = try await self.entries(of: base)
            return try await commit(
                newParts: try Self.pendingParts(entries.map(\.manifest) + tail, after: 0), keptParts: [],
                through: head, parent: previous?.snapshotID)
        }
        var new = try Self.pendingParts(tail, after: base.throughSequence)
        // Binary-counter merge: fold the newest kept part into the new one while it is not larger, up to the
        // part size limit (a full part is never rewritten).
        while new.count == 1, let last = kept.last, let summary = last.summary, last.count <= new[0].count,
            last.count + new[0].count <= Self.maxPartEntries
        {
            let lines = Self.splitLines(try await dataset.readFile(last.ref, manifest: base.manifest))
            guard lines.count == last.count else {
                throw ArchiverError(
                    .unreadable,
                    "catalog part \(last.ref.path) holds \(lines.count) lines, but its name says \(last.count); run "
                        + "`archiver catalog rebuild`")
            }
            new[0] = PendingPart(lines: lines + new[0].lines, summary: summary.followed(by: new[0].summary))
            kept.removeLast()
        }
        return try await commit(newParts: new, keptParts: kept, through: head, parent: previous?.snapshotID)
    }

    /// Lines to be written as one part, and their summary.
    struct PendingPart {
        var lines: [[UInt8]]
        var summary: CatalogPartSummary

        var count: Int64 { Int64(lines.count) }
    }

    /// `chain` as catalog lines numbered from `after + 1`, in parts of at most ``maxPartEntries``, checking any
    /// recorded sequence numbers.
    static func pendingParts(_ chain: [Manifest], after: Int64) throws -> [PendingPart] {
        let lines = try numbered(chain, after: after)
        let cuts = try Archive.cutPoints(chain)
        var parts: [PendingPart] = []
        var start = 0
        while start < chain.count {
            let end = min(chain.count, start + Int(maxPartEntries))
            parts.append(
                PendingPart(
                    lines: Array(lines[start..<end]),
                    summary: CatalogPartSummary(first: after + Int64(start) + 1, cuts: cuts[start..<end])))
            start = end
        }
        return parts
    }

    /// Encodes `chain` as catalog lines numbered from `after + 1`, checking any recorded sequence numbers.
    static func numbered(_ chain: [Manifest], after: Int64) throws -> [[UInt8]] {
        try chain.enumerated().map { index, manifest in
            let sequence = after + Int64(index) + 1
            if let recorded = manifest.stringMetadata[ArchiveMetadata.sequenceKey], recorded != String(sequence) {
                throw ArchiverError(
                    .unreadable,
                    "snapshot \(manifest.snapshotID) records sequence \(recorded), but it is number \(sequence) "
                        + "of its chain")
            }
            return encode(manifest, sequence: sequence)
        }
    }

    func commit(
        newParts: [PendingPart], keptParts: [CatalogPart], through head: Manifest, parent: String?
    ) async throws -> CatalogCheckpoint {
        let facts = try ArchiveMetadata(entries: head.stringMetadata)
        let last = newParts.last?.summary.lastSequence ?? keptParts.last?.sequences.upperBound ?? 0
        let snapshotID = SnapshotIDs.next(after: parent)
        var refs: [FileRef] = []
        for part in newParts {
            let writer = try dataset.makeSegmentWriter()
            do {
                for line in part.lines { try writer.append(line: line) }
            } catch {
                writer.discard()
                throw error
            }
            let staged = try await writer.finish()
            defer { staged.removeLocalFile() }
            let name = "part-\(Self.padded(part.summary.firstSequence))-\(Self.padded(part.summary.lastSequence)).zst"
            refs.append(
                try await dataset.publish(staged, as: dataset.dataFileKey(snapshotID: snapshotID, fileName: name)))
        }
        CrashPoints.hit(.catalogBeforeManifest)
        let summaries = keptParts.compactMap(\.summary) + newParts.map(\.summary)
        var metadata: [String: JSONValue] = [
            Key.format: Self.formatVersion, Key.events: archive.events.id, Key.through: head.snapshotID,
            Key.throughSequence: String(last), Key.lastPosition: String(facts.lastPosition),
            Key.chainHead: facts.chainHead.hex, Key.codec: head.codec ?? "", Key.compressor: head.compressor,
            Key.partitioner: head.partitioner, Key.checksum: head.checksumAlgorithm ?? "",
        ].mapValues { JSONValue.string($0) }
        metadata[Key.parts] = .array(summaries.map(\.json))
        let manifest = try await dataset.commit(
            snapshotID: snapshotID, files: keptParts.map(\.ref) + refs, rowCount: last, metadata: metadata,
            expectedParent: parent ?? "")
        return try checkpoint(manifest)
    }

    // MARK: Line format

    /// The components every events manifest shares (LODE_FORMAT.md §8 A12), kept once per checkpoint.
    struct EventsComponents: Sendable {
        var datasetID: String
        var codec: String?
        var compressor: String
        var partitioner: String
        var checksum: String?
    }

    /// One catalog line: `{"created_at","files":[{"md5","path","size"}],"max_ts","metadata":{…},"min_ts",
    /// "parent","rows","seq","snapshot"}` (keys sorted; `parent`, `min_ts`, `max_ts` omitted when absent).
    static func encode(_ manifest: Manifest, sequence: Int64) -> [UInt8] {
        var object: [String: JSONValue] = [
            "seq": .number(String(sequence)), "snapshot": .string(manifest.snapshotID),
            "created_at": .string(manifest.createdAt), "rows": .number(String(manifest.rowCount)),
            "metadata": .object(manifest.metadata),
            "files": .array(
                manifest.files.map { file in
                    var f: [String: JSONValue] = ["path": .string(file.path), "size": .number(String(file.sizeBytes))]
                    if let checksum = file.checksum { f["md5"] = .string(checksum) }
                    return .object(f)
                }),
        ]
        if let parent = manifest.parent { object["parent"] = .string(parent) }
        if let min = manifest.minTimestamp { object["min_ts"] = .string(min) }
        if let max = manifest.maxTimestamp { object["max_ts"] = .string(max) }
        return Array(JSONValue.object(object).compactJSON.utf8)
    }

    static func decodePart(_ bytes: [UInt8], key: String, components: EventsComponents) throws -> [Entry] {
        var entries: [Entry] = []
        for (number, line) in splitLines(bytes).enumerated() {
            guard let entry = decode(line, components: components) else {
                throw ArchiverError(.unreadable, "catalog part \(key) line \(number + 1) is not a catalog entry")
            }
            entries.append(entry)
        }
        return entries
    }

    static func decode(_ line: [UInt8], components: EventsComponents) -> Entry? {
        guard case .object(let o)? = try? JSONValue.parseLikeGo(line), case .number(let seqText)? = o["seq"],
            let sequence = Int64(seqText), let snapshot = o["snapshot"]?.string,
            let createdAt = o["created_at"]?.string, case .number(let rowsText)? = o["rows"],
            let rows = Int64(rowsText), case .object(let metadata)? = o["metadata"],
            case .array(let files)? = o["files"]
        else { return nil }
        var refs: [FileRef] = []
        for file in files {
            guard case .object(let f) = file, let path = f["path"]?.string,
                case .number(let sizeText)? = f["size"],
                let size = Int64(sizeText)
            else { return nil }
            refs.append(FileRef(path: path, sizeBytes: size, checksum: f["md5"]?.string))
        }
        let manifest = Manifest(
            datasetID: components.datasetID, snapshotID: snapshot, createdAt: createdAt, metadata: metadata,
            files: refs, parentSnapshotID: o["parent"]?.string, rowCount: rows,
            minTimestamp: o["min_ts"]?.string, maxTimestamp: o["max_ts"]?.string,
            codec: components.codec.flatMap { $0.isEmpty ? nil : $0 }, compressor: components.compressor,
            partitioner: components.partitioner,
            checksumAlgorithm: components.checksum.flatMap { $0.isEmpty ? nil : $0 })
        return Entry(sequence: sequence, manifest: manifest)
    }

    static func splitLines(_ bytes: [UInt8]) -> [[UInt8]] {
        bytes.split(separator: 0x0A, omittingEmptySubsequences: true).map(Array.init)
    }

    static func padded(_ n: Int64) -> String {
        let digits = String(n)
        return String(repeating: "0", count: max(0, 12 - digits.count)) + digits
    }

    /// The sequence range a part's name (`part-<first>-<last>.zst`) declares.
    static func range(of path: String) -> ClosedRange<Int64>? {
        let name = path.split(separator: "/").last ?? ""
        let fields = name.split(separator: ".").first?.split(separator: "-") ?? []
        guard fields.count == 3, fields[0] == "part", let a = Int64(fields[1]), let b = Int64(fields[2]), a <= b
        else { return nil }
        return a...b
    }
}

extension Archive {
    /// What the flusher needs from a new snapshot's parent: the SHA-256 of its manifest bytes and its
    /// sequence number. A parent written before `archiver.sequence` existed is numbered once by the newest
    /// checkpoint that ends at it, else by walking the chain.
    func parentLink(snapshotID: String) async throws -> (manifestSHA256: String, sequence: Int64) {
        let key = events.manifestKey(snapshotID: snapshotID)
        let bytes = try await store.get(key)
        let sha = HexCoding.encode(SHA256.hash(data: bytes))
        let manifest = try Manifest.decode(bytes, key: key)
        if let sequence = manifest.stringMetadata[ArchiveMetadata.sequenceKey].flatMap(Int64.init) {
            return (sha, sequence)
        }
        if let checkpoint = try? await ArchiveCatalog(archive: self).latest(),
            checkpoint.throughSnapshotID == snapshotID
        {
            return (sha, checkpoint.throughSequence)
        }
        return (sha, Int64(try await events.history(upTo: snapshotID).count))
    }
}
