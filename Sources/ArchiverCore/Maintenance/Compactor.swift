public import ArchiveFormat
public import Coordination
import Crypto
public import Foundation
import Lode
import RawJSON

public struct CompactionOptions: Sendable {
    /// Compact the original snapshots up to this cut (a position or time is rounded down to a whole snapshot).
    public var before: CutSelector = .latest
    /// A generation snapshot ends once it holds this many uncompressed record bytes (256 MiB default).
    public var targetBytes: Int64 = 256 << 20
    /// A generation snapshot also ends before it would span more partitions than this (one open compressor each).
    public var maxPartitionsPerSnapshot = 256
    /// Report what would be done; write and delete nothing.
    public var dryRun = false
    /// Identifies this compactor in the lease (host and process id by default).
    public var holder: String
    public var leaseTTLSeconds: Double = 60
    /// Where generation files are staged before they are published.
    public var spoolDirectory: String
    /// Written to `archiver.producer`.
    public var producer: String
    /// zstd level (1…22) of the files the generation writes; nil keeps the archive's own compression. A cold
    /// generation is written once and read rarely, so a slower, smaller level can pay off; readers need nothing
    /// new (the level is not part of the format).
    public var zstdLevel: Int32?
    /// The generation's record format; nil writes the latest format among the snapshots it covers (so an archive
    /// keeps its format). `archiver format upgrade` sets it to rewrite an archive's history in a later format.
    public var format: RecordFormat?

    public init(producer: String, holder: String? = nil, spoolDirectory: String? = nil) {
        self.producer = producer
        self.holder = holder ?? "\(ProcessInfo.processInfo.hostName)/\(getpid())"
        self.spoolDirectory = spoolDirectory ?? NSTemporaryDirectory()
    }
}

public struct CompactionSummary: Sendable {
    /// The generation written (or that would be, with `dryRun`); nil when there was nothing to compact.
    public var generation: Int?
    public var datasetID: String?
    /// Original snapshots the generation covers (sequences 1…`throughSequence`).
    public var snapshots = 0
    public var throughSnapshotID = ""
    public var throughSequence: Int64 = 0
    /// Generation snapshots written.
    public var runs = 0
    /// Data files and stored bytes readers read for those snapshots before and after.
    public var filesBefore = 0
    public var storedBytesBefore: Int64 = 0
    public var filesAfter = 0
    public var storedBytesAfter: Int64 = 0
    public var recordBytes: Int64 = 0
    public var events: Int64 = 0
    /// Never-activated generations (left by an interrupted compaction) that were removed.
    public var removedPartial: [String] = []
    /// Why nothing was compacted, when nothing was.
    public var note: String?
    public var seconds: Double = 0
}

public struct CompactionProgress: Sendable {
    public var runs: Int
    public var snapshots: Int
    public var totalSnapshots: Int
    public var events: Int64
    public var seconds: Double
}

public struct RetireSummary: Sendable {
    public var generation: Int
    /// Data objects deleted (or that would be, with `dryRun`) and their stored bytes.
    public var deleted = 0
    public var deletedBytes: Int64 = 0
    /// Objects kept because they are younger than the retention.
    public var keptYoung = 0
    public var verifiedEvents: Int64 = 0
    public var dryRun = false
}

/// Rewrites many small snapshots into few large ones in a new generation dataset, and retires what it replaces.
///
/// `run`: under the `compactor` lease, copies the records of the original snapshots 1…K (K = the cut), as read
/// through the active layout, **line by line without re-encoding** into generation `events-gen<N>`: one
/// generation snapshot per run of whole original snapshots totalling about `targetBytes`, one data file per
/// partition. Each generation snapshot carries the archive facts of its run (positions, count, chain start and
/// head, records root, stream filters) and its provenance. The generation is then re-read with every object
/// checksum and record hash recomputed and its facts checked against the original manifests, and only then
/// activated by a compare-and-swap commit to the `generations` dataset. The original manifests never change.
///
/// `retire`: after a full ``Verifier`` run succeeds, deletes the data files the active generation supersedes
/// (original snapshots it covers, older generations), never one younger than the retention. Manifests stay.
///
/// ```swift
/// let compactor = Compactor(archive: archive, store: coordination)
/// let summary = try await compactor.run(CompactionOptions(producer: "lode-archiver"))
/// ```
public struct Compactor: Sendable {
    public let archive: Archive
    public let store: any CoordinationStore
    public static let leaseName = "compactor"

    public init(archive: Archive, store: any CoordinationStore) {
        self.archive = archive
        self.store = store
    }

    /// Compacts the original snapshots up to `options.before` into a new generation and activates it.
    /// - Throws: ``ArchiverError`` `.compactionInProgress` (another compactor holds the lease or activated a
    ///   generation meanwhile), `.tampered` when the new generation does not verify (it is not activated),
    ///   `.unknownCut`; Lode and coordination errors.
    public func run(
        _ options: CompactionOptions, progress: (@Sendable (CompactionProgress) -> Void)? = nil
    ) async throws -> CompactionSummary {
        try await withLease(options) { lease in try await compact(options, lease: lease, progress: progress) }
    }

    private func compact(
        _ options: CompactionOptions, lease: Lease, progress: (@Sendable (CompactionProgress) -> Void)?
    ) async throws -> CompactionSummary {
        let started = ContinuousClock.now
        var summary = CompactionSummary()
        let compression = try generationCompression(options)
        let plan = try await archive.plan(to: options.before)
        let originals = Self.wholeSnapshots(plan, try await plan.allCuts())
        guard let through = originals.last else {
            throw ArchiverError(
                .unknownCut, "no committed snapshot ends at or before \(options.before): nothing to compact")
        }
        let active = plan.generation
        let existing = try await archive.generationObjects()
        let partial = existing.keys.filter { $0 > (active?.number ?? 0) }.sorted()
        let number = max(active?.number ?? 0, existing.keys.max() ?? 0) + 1
        let units = active?.substitute(originals) ?? originals
        let format = options.format ?? units.map(\.facts.format).max() ?? .v1
        summary.snapshots = originals.count
        summary.throughSnapshotID = through.snapshotID
        summary.throughSequence = Int64(originals.count)
        summary.filesBefore = units.reduce(0) { $0 + $1.manifest.files.count }
        summary.storedBytesBefore = units.reduce(0) { $0 + $1.manifest.files.reduce(0) { $0 + $1.sizeBytes } }
        summary.events = originals.reduce(0) { $0 + $1.facts.eventCount }
        if let wanted = options.format, units.allSatisfy({ $0.facts.format == wanted }) {
            summary.note =
                "every snapshot through \(through.snapshotID) is already in record format \(wanted): nothing to do"
        } else if let active, active.throughSequence >= Int64(originals.count), active.format == format {
            summary.note =
                "generation \(active.number) already covers sequences 1…\(active.throughSequence) (through snapshot "
                + "\(active.throughSnapshotID)): nothing to compact"
        }
        if options.dryRun {
            summary.removedPartial = partial.map(archive.generationDatasetID)
            if summary.note == nil {
                summary.generation = number
                summary.datasetID = archive.generationDatasetID(number)
            }
            summary.seconds = Flusher.seconds(since: started)
            return summary
        }
        for n in partial {
            for object in existing[n]! { try await archive.store.delete(object.key) }
            summary.removedPartial.append(archive.generationDatasetID(n))
        }
        if summary.note != nil {
            summary.seconds = Flusher.seconds(since: started)
            return summary
        }

        let dataset = try archive.generationDataset(number)
        let copied = try await copy(
            units, of: originals, into: dataset, generation: number, as: (compression, format), lease: lease,
            options, started: started, progress: progress)
        let runs = copied.runs

        let candidate = ActiveGeneration(
            number: number, datasetID: dataset.id, headSnapshotID: runs.last!.snapshotID,
            throughSnapshotID: through.snapshotID, throughSequence: Int64(originals.count),
            throughPosition: through.facts.lastPosition, chainHead: through.facts.chainHead, activationID: "",
            runs: runs)
        try await verify(candidate, against: originals)
        CrashPoints.hit(.compactBeforeActivate)
        try await activate(candidate, replacing: active, lease: lease, options)
        summary.generation = number
        summary.datasetID = dataset.id
        summary.runs = runs.count
        summary.filesAfter = runs.reduce(0) { $0 + $1.manifest.files.count }
        summary.storedBytesAfter = runs.reduce(0) { $0 + $1.manifest.files.reduce(0) { $0 + $1.sizeBytes } }
        summary.recordBytes = copied.recordBytes
        summary.seconds = Flusher.seconds(since: started)
        return summary
    }

    /// Copies `units` (the originals, or the active generation's runs standing for them) into the new
    /// generation's `dataset`, run by run; returns the runs committed and the record bytes copied.
    private func copy(
        _ units: [CutPoint], of originals: [CutPoint], into dataset: LodeDataset, generation number: Int,
        as written: (compression: ArchiveCompression, format: RecordFormat), lease: Lease, _ options: CompactionOptions,
        started: ContinuousClock.Instant, progress: (@Sendable (CompactionProgress) -> Void)?
    ) async throws -> (runs: [CutPoint], recordBytes: Int64) {
        var sequences: [String: Int64] = [:]
        for (index, cut) in originals.enumerated() { sequences[cut.snapshotID] = Int64(index + 1) }
        var builder = RunBuilder(
            archive: archive, generation: number, spoolDirectory: options.spoolDirectory,
            compression: written.compression, format: written.format)
        defer { builder.discard() }
        var runs: [CutPoint] = []
        var done = 0
        let archive = self.archive
        // The next unit is fetched and decompressed while this one is copied.
        var next: Task<ArchiveReader.LoadedSnapshot, any Error>? = units.first.map { unit in
            Task { try await ArchiveReader.load(unit, archive: archive) }
        }
        defer { next?.cancel() }
        for (index, unit) in units.enumerated() {
            let loaded = try await next!.value
            next =
                index + 1 < units.count
                ? Task { [unit = units[index + 1]] in try await ArchiveReader.load(unit, archive: archive) } : nil
            let partitions = Set(unit.manifest.files.map { LodeLayout.partitionPath(ofKey: $0.path) })
            if builder.count > 0 && builder.partitionCount(adding: partitions) > options.maxPartitionsPerSnapshot {
                runs.append(try await commit(&builder, into: dataset, after: runs.last, lease: lease, options))
            }
            let first =
                unit.run.map { ($0.firstSnapshotID, $0.firstSequence) } ?? (
                    unit.snapshotID, sequences[unit.snapshotID]!
                )
            let last =
                unit.run.map { ($0.lastSnapshotID, $0.lastSequence) } ?? (unit.snapshotID, sequences[unit.snapshotID]!)
            try await builder.add(loaded, first: first, last: last)
            done += Int(last.1 - first.1 + 1)
            if builder.recordBytes >= options.targetBytes {
                runs.append(try await commit(&builder, into: dataset, after: runs.last, lease: lease, options))
            }
            progress?(
                CompactionProgress(
                    runs: runs.count, snapshots: done, totalSnapshots: originals.count, events: builder.events,
                    seconds: Flusher.seconds(since: started)))
        }
        if builder.count > 0 {
            runs.append(try await commit(&builder, into: dataset, after: runs.last, lease: lease, options))
        }
        return (runs, builder.totalRecordBytes)
    }

    /// The compression of the generation's files: the archive's, or zstd at `options.zstdLevel`.
    /// - Throws: ``ArchiverError`` `.invalidArgument` for a level outside 1…22 or an archive not compressed
    ///   with zstd (a generation is read with the archive's decompressor).
    func generationCompression(_ options: CompactionOptions) throws -> ArchiveCompression {
        guard let level = options.zstdLevel else { return archive.settings.compression }
        guard case .zstd = archive.settings.compression else {
            throw ArchiverError(
                .invalidArgument,
                "a zstd level applies only to an archive compressed with zstd; this one uses "
                    + "\(archive.settings.compression): leave out the zstd level")
        }
        guard (1...22).contains(level) else {
            throw ArchiverError(.invalidArgument, "zstd level \(level) is outside 1…22: choose a level from 1 to 22")
        }
        return .zstd(level: level)
    }

    /// The plan's original snapshots (`cuts`), cut back to whole snapshots for a position or time cut.
    static func wholeSnapshots(_ plan: ReadPlan, _ cuts: [CutPoint]) -> [CutPoint] {
        Array(
            cuts.prefix { cut in
                plan.maxPosition.map { cut.facts.lastPosition <= $0 } ?? true
                    && (plan.maxRecordedAt.map { cut.facts.maxRecordedAtNanos <= $0 } ?? true)
            })
    }

    /// Publishes the builder's files and commits them as the next snapshot of the generation.
    private func commit(
        _ builder: inout RunBuilder, into dataset: LodeDataset, after parent: CutPoint?, lease: Lease,
        _ options: CompactionOptions
    ) async throws -> CutPoint {
        let snapshotID = SnapshotIDs.next(after: parent?.snapshotID)
        let run = try await builder.finish()
        defer { run.files.forEach { $0.staged.removeLocalFile() } }
        var refs: [FileRef] = []
        for file in run.files {
            let key = dataset.layout.dataFileKey(
                dataset: dataset.id, snapshot: snapshotID, partition: file.partition, fileName: dataset.defaultFileName)
            refs.append(try await dataset.publish(file.staged, as: key))
            CrashPoints.hit(.compactMidCopy)
        }
        var facts = ArchiveMetadata(
            firstPosition: run.firstPosition, lastPosition: run.lastPosition, eventCount: run.count,
            chainStart: run.chainStart, chainHead: run.chainHead,
            parentManifestSHA256: parent.map { HexCoding.encode(SHA256.hash(data: $0.manifest.jsonBytes())) } ?? "",
            cutName: nil, producer: options.producer, fencingToken: lease.fencingToken,
            minRecordedAtNanos: run.minRecordedAt, maxRecordedAtNanos: run.maxRecordedAt)
        facts.format = run.format
        facts.recordsRoot = run.recordsRoot
        facts.sequence = (parent?.facts.sequence ?? 0) + 1
        let perFile = zip(refs, run.files).map {
            (path: $0.path, filter: $1.streamFilter.text, chain: $1.chain, frames: $1.frames)
        }.sorted { $0.path.utf8.lexicographicallyPrecedes($1.path.utf8) }
        facts.streamFilters = perFile.map(\.filter).joined(separator: " ")
        if run.format != .v1 {
            facts.fileChains = perFile.map(\.chain)
            facts.fileFrames = ArchiveFrame.snapshotIndex(perFile.map(\.frames))
        }
        let metadata = facts.entries.merging(run.provenance.entries) { current, _ in current }
        let manifest = try await dataset.commit(
            snapshotID: snapshotID, files: refs, rowCount: run.count, metadata: metadata.mapValues { .string($0) },
            minTimestamp: ArchiveTime.rfc3339Micros(run.minRecordedAt),
            maxTimestamp: ArchiveTime.rfc3339Micros(run.maxRecordedAt),
            partitionPaths: run.files.map(\.partition).filter { !$0.isEmpty }, expectedParent: parent?.snapshotID ?? "")
        return try Archive.cutPoints([manifest])[0]
    }

    /// Re-reads the new generation (every object's MD5, every record's hash, the records roots) and checks its
    /// facts against the original manifests; throws when anything differs.
    func verify(_ candidate: ActiveGeneration, against originals: [CutPoint]) async throws {
        func refuse(_ message: String) -> ArchiverError {
            ArchiverError(
                .tampered, "generation \(candidate.number) does not verify, so it was not activated: \(message)")
        }
        if let problem = candidate.problems(against: originals).first { throw refuse(problem.description) }
        let stats: ReadStats
        do {
            stats = try await ArchiveReader(archive: archive, verifyChain: true).read(
                ReadPlan(cuts: candidate.runs, maxPosition: nil, maxRecordedAt: nil, selector: .latest)
            ) { _, _ in }
        } catch {
            throw refuse(Verifier.problem(error, location: candidate.datasetID).description)
        }
        let events = originals.reduce(0) { $0 + $1.facts.eventCount }
        guard stats.events == events, stats.chainHead == candidate.chainHead else {
            throw refuse(
                "it holds \(stats.events) events ending at chain hash \(stats.chainHead?.hex.prefix(16) ?? "none")…, "
                    + "the originals \(events) ending at \(candidate.chainHead.hex.prefix(16))…")
        }
    }

    /// Makes `candidate` the generation readers use: a commit to the `generations` dataset whose expected parent
    /// is the activation in force (compare-and-swap of its pointer), under a freshly renewed lease.
    private func activate(
        _ candidate: ActiveGeneration, replacing active: ActiveGeneration?, lease: Lease, _ options: CompactionOptions
    ) async throws {
        guard
            try await LeaseHolder.renew(lease, in: store, holder: options.holder, ttlSeconds: options.leaseTTLSeconds)
                != nil
        else {
            throw ArchiverError(
                .fenced,
                "this compactor lost its lease to another one; generation \(candidate.number) was not activated")
        }
        let generations = try archive.generations
        do {
            _ = try await generations.commit(
                snapshotID: SnapshotIDs.next(after: active?.activationID), files: [], rowCount: 0,
                metadata: candidate.entries.mapValues { .string($0) }, expectedParent: active?.activationID ?? "")
        } catch let error as LodeError where error.code == .snapshotConflict {
            throw ArchiverError(
                .compactionInProgress,
                "another compaction activated a generation meanwhile, so generation \(candidate.number) was not "
                    + "activated; run `archiver compact` again")
        }
    }

    // MARK: Retire

    /// Deletes the data files the active generation supersedes, after a full verification succeeded.
    ///
    /// Candidates: the data files of the original snapshots the generation covers, and those of older
    /// generations. An object is kept while it is younger than `retentionSeconds` (its age is taken from the
    /// manifest that lists it, which is written after the object, so it is never overestimated). Manifests are
    /// never deleted.
    /// - Throws: ``ArchiverError`` `.retireRefused` when no generation is active or `verify` finds a problem.
    public func retire(
        _ options: CompactionOptions, retentionSeconds: Double, now: Date = Date()
    ) async throws -> RetireSummary {
        try await withLease(options) { _ in
            try await retireSuperseded(options, retentionSeconds: retentionSeconds, now: now)
        }
    }

    private func retireSuperseded(
        _ options: CompactionOptions, retentionSeconds: Double, now: Date
    ) async throws -> RetireSummary {
        guard let active = try await archive.activeGeneration() else {
            throw ArchiverError(
                .retireRefused, "no compacted generation is active, so nothing is superseded: run `archiver compact`")
        }
        let report = try await Verifier(archive: archive).run()
        let problems = report.problems.filter { $0.kind != .orphan }
        guard problems.isEmpty else {
            throw ArchiverError(
                .retireRefused,
                "the archive does not verify, so nothing was deleted: \(problems[0])"
                    + (problems.count > 1 ? " (and \(problems.count - 1) more)" : ""))
        }
        var summary = RetireSummary(generation: active.number, verifiedEvents: report.events, dryRun: options.dryRun)
        var candidates: [(key: String, size: Int64, createdAt: String)] = []
        let covered = try await archive.plan(to: .snapshot(active.throughSnapshotID)).allCuts()
        let present = Dictionary(
            try await archive.store.list(prefix: "datasets/\(archive.settings.datasetID)/").map { ($0.key, $0.size) }
        ) { first, _ in first }
        for cut in covered {
            for file in cut.manifest.files {
                if let size = present[file.path] { candidates.append((file.path, size, cut.manifest.createdAt)) }
            }
        }
        for (n, objects) in try await archive.generationObjects() where n < active.number {
            var listed: [String: String] = [:]
            for manifest in try await archive.generationDataset(n).allManifests() {
                for file in manifest.files { listed[file.path] = manifest.createdAt }
            }
            for object in objects {
                if let createdAt = listed[object.key] { candidates.append((object.key, object.size, createdAt)) }
            }
        }
        let nowNanos = Int64(now.timeIntervalSince1970 * 1e9)
        for candidate in candidates {
            let written = LodeTimestamp.parse(candidate.createdAt)?.unixNanoseconds ?? nowNanos
            guard Double(nowNanos - written) / 1e9 >= retentionSeconds else {
                summary.keptYoung += 1
                continue
            }
            if !options.dryRun { try await archive.store.delete(candidate.key) }
            summary.deleted += 1
            summary.deletedBytes += candidate.size
        }
        return summary
    }

    // MARK: Lease

    /// Runs `body` holding the compaction lease, and releases it afterwards (also when `body` throws).
    private func withLease<T>(_ options: CompactionOptions, _ body: (Lease) async throws -> T) async throws -> T {
        guard
            let lease = try await LeaseHolder.acquire(
                Self.leaseName, in: store, holder: options.holder, ttlSeconds: options.leaseTTLSeconds)
        else {
            throw ArchiverError(
                .compactionInProgress,
                "another `archiver compact` holds the compaction lease; wait for it to finish (or for its lease to "
                    + "expire after \(Int(options.leaseTTLSeconds))s if it died)")
        }
        return try await LeaseHolder.releasing(Self.leaseName, in: store, holder: options.holder) {
            try await body(lease)
        }
    }
}

/// Collects whole units (original snapshots or older generation snapshots) into one generation snapshot: their
/// lines copied byte for byte into one staged file per partition, in position order. A unit in another record
/// format than the generation's is rewritten into it (same body, so the same chain values).
struct RunBuilder {
    struct Staged {
        var partition: String
        var staged: StagedFile
        var streamFilter: StreamFilter
        var chain: FileChain
        var frames: [ArchiveFrame]?
    }

    struct Finished {
        var files: [Staged]
        var format: RecordFormat
        var provenance: GenerationRun
        var count: Int64
        var firstPosition: Int64
        var lastPosition: Int64
        var chainStart: ChainHash
        var chainHead: ChainHash
        var recordsRoot: ChainHash
        var minRecordedAt: Int64
        var maxRecordedAt: Int64
    }

    let archive: Archive
    let generation: Int
    let spoolDirectory: String
    let compression: ArchiveCompression
    private var writers: [String: SegmentFileWriter] = [:]
    private var order: [String] = []
    private var streams: [String: Set<String>] = [:]
    /// Per partition file: the chain value before its first record and after its last.
    private var fileChains: [String: FileChain] = [:]
    /// Per partition file: the chain value before each record that starts a zstd frame.
    private var frameChainStarts: [String: [ChainHash]] = [:]
    /// The generation's record format: a generation snapshot, like any snapshot, holds one.
    let format: RecordFormat
    /// A rewritten line (units in another format).
    private var scratch: [UInt8] = []
    private var tree = RecordsTree.Accumulator()
    private(set) var count: Int64 = 0
    private(set) var recordBytes: Int64 = 0
    /// Over every run so far.
    private(set) var totalRecordBytes: Int64 = 0
    private(set) var events: Int64 = 0
    private var firstPosition: Int64 = 0
    private var lastPosition: Int64 = 0
    private var chainStart = ChainHash.genesis
    private var chainHead = ChainHash.genesis
    private var first = ("", Int64(0))
    private var last = ("", Int64(0))
    private var minRecordedAt = Int64.max
    private var maxRecordedAt = Int64.min

    init(
        archive: Archive, generation: Int, spoolDirectory: String, compression: ArchiveCompression,
        format: RecordFormat
    ) {
        self.archive = archive
        self.generation = generation
        self.spoolDirectory = spoolDirectory
        self.compression = compression
        self.format = format
    }

    func partitionCount(adding partitions: Set<String>) -> Int {
        writers.count + partitions.filter { writers[$0] == nil }.count
    }

    /// Appends a whole unit whose files were read and checked against their MD5.
    mutating func add(
        _ loaded: ArchiveReader.LoadedSnapshot, first: (String, Int64), last: (String, Int64)
    ) async throws {
        let facts = loaded.cut.facts
        if count == 0 {
            chainStart = facts.chainStart
            self.first = first
            firstPosition = facts.firstPosition
        }
        self.last = last
        chainHead = facts.chainHead
        minRecordedAt = min(minRecordedAt, facts.minRecordedAtNanos)
        maxRecordedAt = max(maxRecordedAt, facts.maxRecordedAtNanos)
        var targets: [String: (writer: SegmentFileWriter, partition: String)] = [:]
        for pipeline in loaded.pipelines {
            let partition = LodeLayout.partitionPath(ofKey: pipeline.path)
            if writers[partition] == nil {
                writers[partition] = try SegmentFileWriter(
                    compressor: Archive.lodeCompressor(compression), directory: spoolDirectory, background: true)
                order.append(partition)
            }
            targets[pipeline.path] = (writers[partition]!, partition)
        }
        var added: Int64 = 0
        var previous = count > 0 ? lastPosition : Int64.min
        var streams = self.streams
        var fileChains = self.fileChains
        var frameChainStarts = self.frameChainStarts
        var chain = facts.chainStart
        var tree = self.tree
        var recordBytes = self.recordBytes
        var totalRecordBytes = self.totalRecordBytes
        var scratch = self.scratch
        let format = self.format
        try await ChunkMerger.forEachLine(loaded.pipelines) { line, fields, path, lineNumber in
            guard fields.position > previous, let hash = RecordDecoder.chainHash(line, fields, after: chain) else {
                throw ArchiveFormatError(
                    .chainMismatch, "\(path) line \(lineNumber): position or hash out of order or malformed")
            }
            previous = fields.position
            let target = targets[path]!
            if target.writer.nextLineStartsFrame { frameChainStarts[target.partition, default: []].append(chain) }
            var written = line.count
            if fields.format == format {
                try target.writer.append(line: line)
            } else {
                RecordEncoder.rewrite(line, fields, hash: hash, as: format, into: &scratch)
                try target.writer.append(line: scratch)
                written = scratch.count
            }
            streams[target.partition, default: []].insert(RecordDecoder.string(line, fields.stream))
            fileChains[target.partition, default: FileChain(start: chain, head: hash)].head = hash
            chain = hash
            tree.append(chainHash: hash)
            added += 1
            recordBytes += Int64(written + 1)
            totalRecordBytes += Int64(written + 1)
        }
        self.scratch = scratch
        self.streams = streams
        self.fileChains = fileChains
        self.frameChainStarts = frameChainStarts
        self.tree = tree
        self.recordBytes = recordBytes
        self.totalRecordBytes = totalRecordBytes
        guard added == facts.eventCount else {
            throw ArchiveFormatError(
                .chainMismatch,
                "snapshot \(loaded.cut.snapshotID) holds \(added) records, but its manifest says \(facts.eventCount)")
        }
        try Self.checkChainEnd(chain, of: loaded.cut)
        lastPosition = previous
        count += added
        events += added
    }

    /// The copied records (their hashes stored in v1, recomputed in v2) end at the manifest's chain head.
    private static func checkChainEnd(_ chain: ChainHash, of cut: CutPoint) throws {
        guard chain == cut.facts.chainHead else {
            throw ArchiveFormatError(
                .chainMismatch,
                "snapshot \(cut.snapshotID)'s records end the chain at \(chain.hex.prefix(16))…, but its manifest "
                    + "records \(cut.facts.chainHead.hex.prefix(16))…")
        }
    }

    /// Closes the staged files and starts an empty run.
    mutating func finish() async throws -> Finished {
        var files: [Staged] = []
        for partition in order {
            let staged = try await writers[partition]!.finish()
            files.append(
                Staged(
                    partition: partition, staged: staged,
                    streamFilter: StreamFilter(streams: streams[partition] ?? []),
                    chain: fileChains[partition] ?? FileChain(start: chainStart, head: chainStart),
                    frames: ArchiveFrame.index(of: staged, chainStarts: frameChainStarts[partition] ?? [])))
        }
        let finished = Finished(
            files: files, format: format,
            provenance: GenerationRun(
                generation: generation, firstSnapshotID: first.0, lastSnapshotID: last.0, firstSequence: first.1,
                lastSequence: last.1),
            count: count, firstPosition: firstPosition, lastPosition: lastPosition, chainStart: chainStart,
            chainHead: chainHead, recordsRoot: tree.root, minRecordedAt: minRecordedAt, maxRecordedAt: maxRecordedAt)
        writers.removeAll()
        order.removeAll()
        streams.removeAll()
        fileChains.removeAll()
        frameChainStarts.removeAll()
        tree = RecordsTree.Accumulator()
        count = 0
        recordBytes = 0
        minRecordedAt = .max
        maxRecordedAt = .min
        return finished
    }

    /// Removes staged files after a failure.
    mutating func discard() {
        for writer in writers.values { writer.discard() }
        writers.removeAll()
    }
}
