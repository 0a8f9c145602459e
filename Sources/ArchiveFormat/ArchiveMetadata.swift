/// The archive facts each events-dataset manifest carries in its Lode `metadata`, all as strings
/// (Go Lode reads metadata numbers as float64; `LODE_FORMAT.md` §8 A7, A9).
public struct ArchiveMetadata: Sendable, Hashable {
    /// Record format version (`archiver.format`).
    public var format: RecordFormat = .v1
    public var firstPosition: Int64
    public var lastPosition: Int64
    public var eventCount: Int64
    /// Chain hash before the first event of this snapshot (the parent's chain head).
    public var chainStart: ChainHash
    /// Chain hash after the last event.
    public var chainHead: ChainHash
    /// SHA-256 hex of the parent manifest's stored bytes ("" for the first snapshot).
    public var parentManifestSHA256: String
    /// Cut point name, if the flush was named.
    public var cutName: String?
    /// Which program wrote the snapshot, e.g. `lode-archiver 0.1.0`.
    public var producer: String
    /// The flusher lease's fencing token when the snapshot was committed.
    public var fencingToken: Int64
    /// Record time of the first and last event (ns since the epoch).
    public var minRecordedAtNanos: Int64
    public var maxRecordedAtNanos: Int64
    /// Root of the snapshot's records tree (``RecordsTree``) over its records' chain hashes in position
    /// order; absent in snapshots written before it existed.
    public var recordsRoot: ChainHash?
    /// Ed25519 signature (base64) over ``signingDigest`` and the signing key's id, when signed.
    public var signature: String?
    public var keyID: String?
    /// The snapshot's 1-based index in the chain (`archiver.sequence`): the parent's plus one. Absent in
    /// snapshots written before catalog checkpoints existed.
    public var sequence: Int64?
    /// One ``StreamFilter`` per data file, in the manifest's `files` order, separated by spaces
    /// (`archiver.stream_filters`); absent when unknown (every file may hold any stream).
    public var streamFilters: String?
    /// Per data file, in the manifest's `files` order: the chain value before its first record and after its last
    /// (`archiver.file_chain_starts`, `archiver.file_chain_heads`, hex separated by spaces). Format v2 records
    /// them; v1 snapshots lack them.
    public var fileChains: [FileChain]?
    /// Per data file, in the manifest's `files` order: its zstd frames (``ArchiveFrame``). Format 2 snapshots
    /// written since the frame index existed record them; absent otherwise (the whole object is then read).
    public var fileFrames: [[ArchiveFrame]]?
    /// The metadata key of ``sequence``, for readers of raw manifests.
    public static let sequenceKey = Key.sequence

    public init(
        firstPosition: Int64, lastPosition: Int64, eventCount: Int64, chainStart: ChainHash, chainHead: ChainHash,
        parentManifestSHA256: String, cutName: String?, producer: String, fencingToken: Int64,
        minRecordedAtNanos: Int64, maxRecordedAtNanos: Int64
    ) {
        self.firstPosition = firstPosition
        self.lastPosition = lastPosition
        self.eventCount = eventCount
        self.chainStart = chainStart
        self.chainHead = chainHead
        self.parentManifestSHA256 = parentManifestSHA256
        self.cutName = cutName
        self.producer = producer
        self.fencingToken = fencingToken
        self.minRecordedAtNanos = minRecordedAtNanos
        self.maxRecordedAtNanos = maxRecordedAtNanos
    }

    enum Key {
        static let format = "archiver.format"
        static let firstPosition = "archiver.first_position"
        static let lastPosition = "archiver.last_position"
        static let eventCount = "archiver.event_count"
        static let chainStart = "archiver.chain_start"
        static let chainHead = "archiver.chain_head"
        static let parentManifest = "archiver.parent_manifest_sha256"
        static let cutName = "archiver.cut_name"
        static let producer = "archiver.producer"
        static let fencingToken = "archiver.fencing_token"
        static let minRecordedAt = "archiver.min_recorded_at"
        static let maxRecordedAt = "archiver.max_recorded_at"
        static let recordsRoot = "archiver.records_root"
        static let signature = "archiver.signature"
        static let keyID = "archiver.key_id"
        static let sequence = "archiver.sequence"
        static let streamFilters = "archiver.stream_filters"
        static let fileChainStarts = "archiver.file_chain_starts"
        static let fileChainHeads = "archiver.file_chain_heads"
    }

    /// The metadata entries, as strings.
    public var entries: [String: String] {
        var m: [String: String] = [
            Key.format: format.rawValue,
            Key.firstPosition: String(firstPosition),
            Key.lastPosition: String(lastPosition),
            Key.eventCount: String(eventCount),
            Key.chainStart: chainStart.hex,
            Key.chainHead: chainHead.hex,
            Key.parentManifest: parentManifestSHA256,
            Key.producer: producer,
            Key.fencingToken: String(fencingToken),
            Key.minRecordedAt: ArchiveTime.rfc3339Micros(minRecordedAtNanos),
            Key.maxRecordedAt: ArchiveTime.rfc3339Micros(maxRecordedAtNanos),
        ]
        if let cutName { m[Key.cutName] = cutName }
        if let recordsRoot { m[Key.recordsRoot] = recordsRoot.hex }
        if let signature { m[Key.signature] = signature }
        if let keyID { m[Key.keyID] = keyID }
        if let sequence { m[Key.sequence] = String(sequence) }
        if let streamFilters { m[Key.streamFilters] = streamFilters }
        if let fileChains {
            m[Key.fileChainStarts] = fileChains.map(\.start.hex).joined(separator: " ")
            m[Key.fileChainHeads] = fileChains.map(\.head.hex).joined(separator: " ")
        }
        if let fileFrames { m.merge(ArchiveFrame.entries(fileFrames)) { $1 } }
        return m
    }

    /// Reads the entries back. Fails with a message naming the missing or malformed key.
    public init(entries m: [String: String]) throws(ArchiveFormatError) {
        func required(_ key: String) throws(ArchiveFormatError) -> String {
            guard let v = m[key] else {
                throw ArchiveFormatError(.badMetadata, "manifest metadata lacks \(key): not an archiver snapshot")
            }
            return v
        }
        func int(_ key: String) throws(ArchiveFormatError) -> Int64 {
            guard let v = Int64(try required(key)) else {
                throw ArchiveFormatError(.badMetadata, "manifest metadata \(key) is not an integer")
            }
            return v
        }
        func hash(_ key: String) throws(ArchiveFormatError) -> ChainHash {
            guard let h = ChainHash(hex: try required(key)) else {
                throw ArchiveFormatError(.badMetadata, "manifest metadata \(key) is not a 64-digit hex hash")
            }
            return h
        }
        func time(_ key: String) throws(ArchiveFormatError) -> Int64 {
            guard let t = ArchiveTime.parseRFC3339(try required(key)) else {
                throw ArchiveFormatError(.badMetadata, "manifest metadata \(key) is not an RFC 3339 time")
            }
            return t
        }
        let formatText = try required(Key.format)
        guard let format = RecordFormat(rawValue: formatText) else {
            throw ArchiveFormatError(
                .badMetadata,
                "archive record format \(formatText) is not one this archiver understands (1 or 2); upgrade archiver")
        }
        self.init(
            firstPosition: try int(Key.firstPosition), lastPosition: try int(Key.lastPosition),
            eventCount: try int(Key.eventCount), chainStart: try hash(Key.chainStart),
            chainHead: try hash(Key.chainHead), parentManifestSHA256: try required(Key.parentManifest),
            cutName: m[Key.cutName], producer: try required(Key.producer), fencingToken: try int(Key.fencingToken),
            minRecordedAtNanos: try time(Key.minRecordedAt), maxRecordedAtNanos: try time(Key.maxRecordedAt))
        if let root = m[Key.recordsRoot] {
            guard let hash = ChainHash(hex: root), !root.isEmpty else {
                throw ArchiveFormatError(
                    .badMetadata, "manifest metadata \(Key.recordsRoot) is not a 64-digit hex hash")
            }
            self.recordsRoot = hash
        }
        self.signature = m[Key.signature]
        self.keyID = m[Key.keyID]
        if m[Key.sequence] != nil { self.sequence = try int(Key.sequence) }
        self.streamFilters = m[Key.streamFilters]
        self.format = format
        self.fileChains = try Self.fileChains(starts: m[Key.fileChainStarts], heads: m[Key.fileChainHeads])
        self.fileFrames = try ArchiveFrame.files(in: m)
    }

    /// Parses the per-file chain values; both keys or neither, one value per file in each.
    static func fileChains(starts: String?, heads: String?) throws(ArchiveFormatError) -> [FileChain]? {
        guard starts != nil || heads != nil else { return nil }
        func hashes(_ text: String?, _ key: String) throws(ArchiveFormatError) -> [ChainHash] {
            var out: [ChainHash] = []
            for token in (text ?? "").split(separator: " ", omittingEmptySubsequences: false) {
                guard token.count == 64, let hash = ChainHash(hex: String(token)) else {
                    throw ArchiveFormatError(
                        .badMetadata, "manifest metadata \(key) is not 64-digit hex hashes separated by spaces")
                }
                out.append(hash)
            }
            return out
        }
        let s = try hashes(starts, Key.fileChainStarts)
        let h = try hashes(heads, Key.fileChainHeads)
        guard s.count == h.count else {
            throw ArchiveFormatError(
                .badMetadata,
                "manifest metadata \(Key.fileChainStarts) lists \(s.count) files but \(Key.fileChainHeads) \(h.count)")
        }
        return zip(s, h).map { FileChain(start: $0, head: $1) }
    }

    /// The per-file filters of ``streamFilters`` when there is one per file (`fileCount`), else `nil`.
    public func parsedStreamFilters(fileCount: Int) -> [StreamFilter?]? {
        guard let streamFilters else { return nil }
        let tokens = streamFilters.split(separator: " ")
        guard tokens.count == fileCount else { return nil }
        return tokens.map { StreamFilter(parsing: $0) }
    }
}

/// A data file's place in the hash chain: the value before its first record and after its last. With partitioned
/// snapshots a file's records interleave with other files' in position order, so these are checked while the
/// snapshot's files are read merged; they bind each file's content to its path in the manifest.
public struct FileChain: Sendable, Hashable {
    public var start: ChainHash
    public var head: ChainHash

    public init(start: ChainHash, head: ChainHash) {
        self.start = start
        self.head = head
    }
}
