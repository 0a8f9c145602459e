import ArchiveFormat
import Lode
import RawJSON

/// One data file of a catalog checkpoint: the entries with sequences `sequences`, and what the catalog manifest
/// records about them.
struct CatalogPart: Sendable {
    var ref: FileRef
    var sequences: ClosedRange<Int64>
    /// nil for the parts of a format-1 checkpoint (and for a part whose summary is missing): such a part may
    /// hold any snapshot and is read to find out.
    var summary: CatalogPartSummary?

    var count: Int64 { Int64(sequences.count) }
}

/// What the catalog manifest records about one part (`archiver.parts`), so that a cut selector is resolved by
/// reading the one part that holds it, and a read starting after a position skips the parts below it.
struct CatalogPartSummary: Sendable, Hashable {
    var firstSequence: Int64
    var lastSequence: Int64
    var firstSnapshotID: String
    var lastSnapshotID: String
    /// Every entry's snapshot id is a decimal number above the previous entry's (the flusher issues them so):
    /// a snapshot id outside first…last is then not in the part.
    var ascendingIDs: Bool
    var firstPosition: Int64
    /// The highest last position of its entries.
    var lastPosition: Int64
    var minRecordedAtNanos: Int64
    var maxRecordedAtNanos: Int64
    /// The cut point names of its entries, each once, oldest first.
    var names: [String]

    /// The summary of consecutive entries (`sequence` of the first, then one each), oldest first.
    init(first sequence: Int64, cuts: some Collection<CutPoint>) {
        let first = cuts.first!
        firstSequence = sequence
        lastSequence = sequence + Int64(cuts.count) - 1
        firstSnapshotID = first.snapshotID
        lastSnapshotID = first.snapshotID
        ascendingIDs = Self.decimal(first.snapshotID) != nil
        firstPosition = first.facts.firstPosition
        lastPosition = first.facts.lastPosition
        minRecordedAtNanos = first.facts.minRecordedAtNanos
        maxRecordedAtNanos = first.facts.maxRecordedAtNanos
        names = []
        for cut in cuts.dropFirst() {
            ascendingIDs = ascendingIDs && Self.precedes(lastSnapshotID, cut.snapshotID)
            lastSnapshotID = cut.snapshotID
            firstPosition = min(firstPosition, cut.facts.firstPosition)
            lastPosition = max(lastPosition, cut.facts.lastPosition)
            minRecordedAtNanos = min(minRecordedAtNanos, cut.facts.minRecordedAtNanos)
            maxRecordedAtNanos = max(maxRecordedAtNanos, cut.facts.maxRecordedAtNanos)
        }
        for cut in cuts { if let name = cut.name { add(name: name) } }
    }

    /// The summary of this part's entries followed by `next`'s (a merged part).
    func followed(by next: CatalogPartSummary) -> CatalogPartSummary {
        var merged = self
        merged.lastSequence = next.lastSequence
        merged.ascendingIDs = ascendingIDs && next.ascendingIDs && Self.precedes(lastSnapshotID, next.firstSnapshotID)
        merged.lastSnapshotID = next.lastSnapshotID
        merged.firstPosition = min(firstPosition, next.firstPosition)
        merged.lastPosition = max(lastPosition, next.lastPosition)
        merged.minRecordedAtNanos = min(minRecordedAtNanos, next.minRecordedAtNanos)
        merged.maxRecordedAtNanos = max(maxRecordedAtNanos, next.maxRecordedAtNanos)
        for name in next.names { merged.add(name: name) }
        return merged
    }

    /// Whether the part can hold the snapshot `id`.
    func mayHold(snapshotID id: String) -> Bool {
        guard ascendingIDs, Self.decimal(id) != nil else { return true }
        return !Self.precedes(id, firstSnapshotID) && !Self.precedes(lastSnapshotID, id)
    }

    private mutating func add(name: String) {
        names.removeAll { $0 == name }
        names.append(name)
    }

    /// A snapshot id as a number, when it is one (19 digits until 2286).
    static func decimal(_ id: String) -> UInt64? {
        id.utf8.count <= 19 && !id.isEmpty && id.utf8.allSatisfy({ $0 >= 48 && $0 <= 57 }) ? UInt64(id) : nil
    }

    /// `a < b` as decimal snapshot ids (false when either is not one).
    static func precedes(_ a: String, _ b: String) -> Bool {
        guard let a = decimal(a), let b = decimal(b) else { return false }
        return a < b
    }

    // MARK: Encoding (`archiver.parts` in the catalog manifest's metadata)

    enum Key {
        static let firstSequence = "first_sequence"
        static let lastSequence = "last_sequence"
        static let firstSnapshot = "first_snapshot"
        static let lastSnapshot = "last_snapshot"
        static let ascendingIDs = "ascending_ids"
        static let firstPosition = "first_position"
        static let lastPosition = "last_position"
        static let minRecordedAt = "min_recorded_at"
        static let maxRecordedAt = "max_recorded_at"
        static let names = "names"
    }

    /// A JSON object whose members are strings (and `names`, an array of strings), as archive metadata is.
    var json: JSONValue {
        .object([
            Key.firstSequence: .string(String(firstSequence)), Key.lastSequence: .string(String(lastSequence)),
            Key.firstSnapshot: .string(firstSnapshotID), Key.lastSnapshot: .string(lastSnapshotID),
            Key.ascendingIDs: .string(ascendingIDs ? "true" : "false"),
            Key.firstPosition: .string(String(firstPosition)), Key.lastPosition: .string(String(lastPosition)),
            Key.minRecordedAt: .string(ArchiveTime.rfc3339Micros(minRecordedAtNanos)),
            Key.maxRecordedAt: .string(ArchiveTime.rfc3339Micros(maxRecordedAtNanos)),
            Key.names: .array(names.map { .string($0) }),
        ])
    }

    /// Reads a summary back; nil when a member is missing or malformed.
    init?(json: JSONValue) {
        guard case .object(let o) = json, case .array(let names)? = o[Key.names] else { return nil }
        func int(_ key: String) -> Int64? { o[key]?.string.flatMap(Int64.init) }
        func time(_ key: String) -> Int64? { o[key]?.string.flatMap(ArchiveTime.parseRFC3339) }
        guard let firstSequence = int(Key.firstSequence), let lastSequence = int(Key.lastSequence),
            firstSequence <= lastSequence, let firstSnapshot = o[Key.firstSnapshot]?.string,
            let lastSnapshot = o[Key.lastSnapshot]?.string, let ascending = o[Key.ascendingIDs]?.string,
            let firstPosition = int(Key.firstPosition), let lastPosition = int(Key.lastPosition),
            let minRecordedAt = time(Key.minRecordedAt), let maxRecordedAt = time(Key.maxRecordedAt)
        else { return nil }
        let decodedNames = names.compactMap(\.string)
        guard decodedNames.count == names.count else { return nil }
        self.firstSequence = firstSequence
        self.lastSequence = lastSequence
        self.firstSnapshotID = firstSnapshot
        self.lastSnapshotID = lastSnapshot
        self.ascendingIDs = ascending == "true"
        self.firstPosition = firstPosition
        self.lastPosition = lastPosition
        self.minRecordedAtNanos = minRecordedAt
        self.maxRecordedAtNanos = maxRecordedAt
        self.names = decodedNames
    }
}

/// Decodes the entries of one catalog part a batch at a time.
///
/// The part's stored bytes are read whole and checked against the catalog manifest's size and MD5 before any
/// entry is decoded; they are then decompressed a chunk at a time by the reader's ``ObjectFeed`` and split into
/// lines by its ``LineCursor``, so memory holds the compressed part (at most ``ArchiveCatalog/maxPartEntries``
/// entries), one decompressed chunk and one batch of entries, never the whole checkpoint.
struct CatalogPartReader {
    let key: String
    let sequences: ClosedRange<Int64>
    private let feed: ObjectFeed
    private let components: ArchiveCatalog.EventsComponents
    /// The decompressed chunk being split into lines (kept alive while `cursor` points into it).
    private var chunk: ChunkStorage?
    private var cursor: LineCursor?
    /// Lines of the chunks before the current one.
    private var linesBefore = 0

    /// Reads and checks `part` of `checkpoint`.
    static func open(
        _ part: CatalogPart, of checkpoint: CatalogCheckpoint, catalog: ArchiveCatalog
    ) async throws -> CatalogPartReader {
        let (key, stored) = try await catalog.dataset.readStoredFile(part.ref, manifest: checkpoint.manifest)
        return try CatalogPartReader(
            key: key, sequences: part.sequences, stored: stored, compressor: checkpoint.manifest.compressor,
            components: catalog.components(of: checkpoint))
    }

    init(
        key: String, sequences: ClosedRange<Int64>, stored: [UInt8], compressor: String,
        components: ArchiveCatalog.EventsComponents
    ) throws {
        self.key = key
        self.sequences = sequences
        self.components = components
        self.feed = try Self.decompressing(key) { try ObjectFeed(path: key, stored: stored, compressor: compressor) }
    }

    /// The next entries in file order, at most `limit` of them; empty after the last.
    /// - Throws: ``ArchiverError`` `.unreadable` when the part does not decompress or a line is not an entry.
    mutating func next(limit: Int) throws -> [ArchiveCatalog.Entry] {
        var entries: [ArchiveCatalog.Entry] = []
        while entries.count < limit, let line = try nextLine() {
            guard let entry = ArchiveCatalog.decode(line, components: components) else {
                let number = linesBefore + (cursor?.lineNumber ?? 0)
                throw ArchiverError(.unreadable, "catalog part \(key) line \(number) is not a catalog entry")
            }
            entries.append(entry)
        }
        return entries
    }

    /// The next non-empty line, or nil at the end of the part.
    private mutating func nextLine() throws -> [UInt8]? {
        while true {
            if var current = cursor {
                defer { cursor = current }
                if let line = current.next() { return Array(line) }
                linesBefore += current.lineNumber
            }
            let feed = self.feed
            guard let next = try Self.decompressing(key, { try feed.nextChunk() }) else {
                chunk = nil
                cursor = nil
                return nil
            }
            chunk = next
            cursor = LineCursor(buffer: next.bytes)
        }
    }

    private static func decompressing<T>(_ key: String, _ body: () throws -> T) throws -> T {
        do {
            return try body()
        } catch {
            throw ArchiverError(.unreadable, "catalog part \(key) does not decompress (\(error))")
        }
    }
}

extension ArchiveCatalog {
    /// A checkpoint's parts in sequence order with their summaries, checked to cover sequences
    /// 1…`throughSequence` without gaps or overlaps (from their names, `part-<first>-<last>.zst`).
    /// - Throws: ``ArchiverError`` `.unreadable` when they do not.
    func parts(of checkpoint: CatalogCheckpoint) throws -> [CatalogPart] {
        let manifest = checkpoint.manifest
        let location = dataset.manifestKey(snapshotID: manifest.snapshotID)
        var summaries: [Int64: CatalogPartSummary] = [:]
        if case .array(let listed)? = manifest.metadata[Key.parts] {
            for value in listed {
                if let summary = CatalogPartSummary(json: value) { summaries[summary.firstSequence] = summary }
            }
        }
        var parts: [CatalogPart] = []
        for ref in manifest.files {
            guard let range = Self.range(of: ref.path) else {
                throw ArchiverError(
                    .unreadable,
                    "catalog checkpoint \(location) lists \(ref.path), which is not a part-<first>-<last> file")
            }
            let summary = summaries[range.lowerBound].flatMap { $0.lastSequence == range.upperBound ? $0 : nil }
            parts.append(CatalogPart(ref: ref, sequences: range, summary: summary))
        }
        parts.sort { $0.sequences.lowerBound < $1.sequences.lowerBound }
        var next: Int64 = 1
        for part in parts {
            guard part.sequences.lowerBound == next else {
                throw ArchiverError(
                    .unreadable,
                    "catalog checkpoint \(location) has no part starting at sequence \(next) (\(part.ref.path) starts "
                        + "at \(part.sequences.lowerBound))")
            }
            next = part.sequences.upperBound + 1
        }
        guard next - 1 == checkpoint.throughSequence else {
            throw ArchiverError(
                .unreadable,
                "catalog checkpoint \(location) has parts through sequence \(next - 1), but its manifest says "
                    + "\(checkpoint.throughSequence)")
        }
        if checkpoint.format != Self.formatVersion1, let last = parts.last,
            last.summary?.lastSnapshotID != checkpoint.throughSnapshotID
        {
            throw ArchiverError(
                .unreadable,
                "catalog checkpoint \(location) does not summarise its parts, or its last part does not end at "
                    + checkpoint.throughSnapshotID)
        }
        return parts
    }

    /// The components every events manifest shares, as the checkpoint records them.
    func components(of checkpoint: CatalogCheckpoint) -> EventsComponents {
        let m = checkpoint.manifest.stringMetadata
        return EventsComponents(
            datasetID: m[Key.events] ?? archive.settings.datasetID, codec: m[Key.codec],
            compressor: m[Key.compressor] ?? "zstd", partitioner: m[Key.partitioner] ?? "hive",
            checksum: m[Key.checksum])
    }

    /// Reads `candidates` in the order given until one holds an entry that `match` accepts (the first of the
    /// part's, or with `last` the last of them), ignoring entries after sequence `through`.
    /// - Returns: the entry as a cut point with its sequence, and how many parts were read.
    func find(
        in candidates: [CatalogPart], of checkpoint: CatalogCheckpoint, through: Int64, last: Bool,
        where match: (CutPoint) -> Bool
    ) async throws -> (found: (sequence: Int64, cut: CutPoint)?, partsRead: Int) {
        var read = 0
        for part in candidates where part.sequences.lowerBound <= through {
            var reader = try await CatalogPartReader.open(part, of: checkpoint, catalog: self)
            read += 1
            var hit: (Int64, CutPoint)? = nil
            scan: while true {
                let entries = try reader.next(limit: ArchiveCatalog.batchEntries)
                if entries.isEmpty { break }
                let cuts = try Archive.cutPoints(entries.map(\.manifest))
                for (entry, cut) in zip(entries, cuts) {
                    if entry.sequence > through { break scan }
                    if match(cut) {
                        hit = (entry.sequence, cut)
                        if !last { break scan }
                    }
                }
            }
            if let hit { return (hit, read) }
        }
        return (nil, read)
    }
}
