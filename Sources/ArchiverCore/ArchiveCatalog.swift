import ArchiveFormat
import Crypto
import Foundation
public import Lode

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
/// adjacent parts are merged when the newest is at least as large as the one before (a binary counter), so a
/// checkpoint has O(log n) parts and the catalog stores O(n log n) lines in all. See docs/FORMAT.md.
///
/// Checkpoints are never the truth: a missing, damaged or disagreeing checkpoint makes readers fall back to
/// the manifests (with a note), `archiver catalog rebuild` writes a fresh one, and `verify` compares them.
///
/// ```swift
/// let catalog = try ArchiveCatalog(archive: archive)
/// try await catalog.rebuild()
/// let resolved = try await archive.resolveCutPoints()   // reads the checkpoint + the manifests after it
/// ```
public struct ArchiveCatalog: Sendable {
    public static let defaultCheckpointInterval = 1000
    public static let formatVersion = "1"

    public let archive: Archive
    public let dataset: LodeDataset

    public init(archive: Archive) throws {
        self.archive = archive
        let events = archive.settings.datasetID
        self.dataset = try LodeDataset(
            store: archive.store, datasetID: events == "events" ? "catalog" : "\(events)-catalog", layout: .default,
            codec: .jsonl, compressor: .zstd(level: 3), checksum: .md5)
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
        guard m[Key.format] == Self.formatVersion, let through = m[Key.through],
            let sequence = m[Key.throughSequence].flatMap(Int64.init),
            let lastPosition = m[Key.lastPosition].flatMap(Int64.init), let chainHead = m[Key.chainHead]
        else {
            throw ArchiverError(
                .unreadable,
                "catalog snapshot \(manifest.snapshotID) is not a catalog checkpoint of format "
                    + "\(Self.formatVersion) (\(dataset.manifestKey(snapshotID: manifest.snapshotID)))")
        }
        return CatalogCheckpoint(
            manifest: manifest, throughSnapshotID: through, throughSequence: sequence, lastPosition: lastPosition,
            chainHead: chainHead)
    }

    /// The checkpoint's entries in sequence order, checked to be complete: sequences 1…n without gaps, each
    /// naming the previous as its parent, ending at the checkpoint's `through` snapshot.
    func entries(of checkpoint: CatalogCheckpoint) async throws -> [Entry] {
        let manifest = checkpoint.manifest
        let m = manifest.stringMetadata
        let components = EventsComponents(
            datasetID: m[Key.events] ?? archive.settings.datasetID, codec: m[Key.codec],
            compressor: m[Key.compressor] ?? "zstd", partitioner: m[Key.partitioner] ?? "hive",
            checksum: m[Key.checksum])
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
            entries: try Self.numbered(chain, after: 0), keptParts: [], through: head,
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
        var kept = base.map { Self.parts(of: $0.manifest) } ?? []
        var lines = try Self.numbered(tail, after: base?.throughSequence ?? 0)
        // Binary-counter merge: fold the newest kept part into the new one while it is not larger.
        while let last = kept.last, last.count <= Int64(lines.count) {
            let bytes = try await dataset.readFile(last.ref, manifest: base!.manifest)
            lines = Self.splitLines(bytes) + lines
            kept.removeLast()
        }
        return try await commit(
            entries: lines, keptParts: kept.map(\.ref), through: head, parent: previous?.snapshotID)
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
        entries lines: [[UInt8]], keptParts: [FileRef], through head: Manifest, parent: String?
    ) async throws -> CatalogCheckpoint {
        let facts = try ArchiveMetadata(entries: head.stringMetadata)
        let first = Int64(keptParts.reduce(0) { $0 + (Self.range(of: $1.path)?.count ?? 0) }) + 1
        let last = first + Int64(lines.count) - 1
        let snapshotID = SnapshotIDs.next(after: parent)
        let writer = try dataset.makeSegmentWriter()
        do {
            for line in lines { try writer.append(line: line) }
        } catch {
            writer.discard()
            throw error
        }
        let staged = try writer.finish()
        defer { staged.removeLocalFile() }
        let key = dataset.dataFileKey(
            snapshotID: snapshotID, fileName: "part-\(Self.padded(first))-\(Self.padded(last)).zst")
        let ref = try await dataset.publish(staged, as: key)
        CrashPoints.hit(.catalogBeforeManifest)
        let metadata: [String: String] = [
            Key.format: Self.formatVersion, Key.events: archive.events.id, Key.through: head.snapshotID,
            Key.throughSequence: String(last), Key.lastPosition: String(facts.lastPosition),
            Key.chainHead: facts.chainHead.hex, Key.codec: head.codec ?? "", Key.compressor: head.compressor,
            Key.partitioner: head.partitioner, Key.checksum: head.checksumAlgorithm ?? "",
        ]
        let manifest = try await dataset.commit(
            snapshotID: snapshotID, files: keptParts + [ref], rowCount: last,
            metadata: metadata.mapValues { JSONValue.string($0) }, expectedParent: parent ?? "")
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
        guard case .object(let o)? = try? JSONValue.parse(line), case .number(let seqText)? = o["seq"],
            let sequence = Int64(seqText), let snapshot = o["snapshot"]?.stringValue,
            let createdAt = o["created_at"]?.stringValue, case .number(let rowsText)? = o["rows"],
            let rows = Int64(rowsText), case .object(let metadata)? = o["metadata"],
            case .array(let files)? = o["files"]
        else { return nil }
        var refs: [FileRef] = []
        for file in files {
            guard case .object(let f) = file, let path = f["path"]?.stringValue,
                case .number(let sizeText)? = f["size"],
                let size = Int64(sizeText)
            else { return nil }
            refs.append(FileRef(path: path, sizeBytes: size, checksum: f["md5"]?.stringValue))
        }
        let manifest = Manifest(
            datasetID: components.datasetID, snapshotID: snapshot, createdAt: createdAt, metadata: metadata,
            files: refs, parentSnapshotID: o["parent"]?.stringValue, rowCount: rows,
            minTimestamp: o["min_ts"]?.stringValue, maxTimestamp: o["max_ts"]?.stringValue,
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

    static func parts(of manifest: Manifest) -> [(ref: FileRef, count: Int64)] {
        manifest.files.compactMap { ref in range(of: ref.path).map { (ref, Int64($0.count)) } }
            .sorted { range(of: $0.ref.path)!.lowerBound < range(of: $1.ref.path)!.lowerBound }
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
