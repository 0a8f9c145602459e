import ArchiveFormat
public import Coordination
import Foundation
import Lode

/// What `archiver export` selects: a replay filter plus a lower bound (the upper bound is the read plan's).
public struct ExportSelection: Sendable {
    public var filter: ReplayFilter
    /// Only events at or above this position.
    public var fromPosition: Int64?
    /// Only events recorded at or after this time (ns since the epoch).
    public var fromRecordedAt: Int64?

    public init(filter: ReplayFilter = ReplayFilter(), fromPosition: Int64? = nil, fromRecordedAt: Int64? = nil) {
        self.filter = filter
        self.fromPosition = fromPosition
        self.fromRecordedAt = fromRecordedAt
    }

    var description: [String: [String]] {
        var d: [String: [String]] = [:]
        if !filter.streams.isEmpty { d["stream"] = filter.streams.sorted() }
        if !filter.categories.isEmpty { d["category"] = filter.categories.sorted() }
        if !filter.types.isEmpty { d["type"] = filter.types.sorted() }
        if let fromPosition { d["from_position"] = [String(fromPosition)] }
        if let fromRecordedAt { d["from_time"] = [ArchiveTime.rfc3339Micros(fromRecordedAt)] }
        return d
    }
}

public struct ExportSummary: Sendable {
    public var events: Int64 = 0
    public var snapshots = 0
    public var manifests = 0
    public var seconds: Double = 0
}

/// Writes an export bundle (``ExportBundle``): the selected events' record lines, an inclusion proof for
/// each against its snapshot's signed records root, and the manifests those proofs depend on.
///
/// Every snapshot holding a selected event is read whole, its objects checked against their checksums and
/// its records against the hash chain and records root, so a bundle is only ever made from an intact archive.
///
/// ```swift
/// let plan = try await archive.plan(to: .latest)
/// let summary = try await Exporter(archive: archive).run(
///     plan: plan, selection: ExportSelection(filter: ReplayFilter(streams: ["account-42"])),
///     directory: "bundle", csv: false)
/// ```
public struct Exporter: Sendable {
    public let archive: Archive
    public var producer = "lode-archiver"
    /// Keys for events archived encrypted: events.csv shows their plaintext, or a redaction marker when the
    /// subject was forgotten. records.jsonl always holds the archived (encrypted) bytes the proofs cover.
    public var subjectKeys: [String: SubjectKey] = [:]
    /// With rules, the bundle also holds the upcast view (upcast.jsonl) and the rule set (upcasters.json);
    /// records.jsonl and the proofs stay the archived bytes.
    public var upcasters = UpcastRuleSet()

    public init(archive: Archive) {
        self.archive = archive
    }

    /// Writes the bundle into `directory`, which must not exist or be empty. On failure the directory is
    /// removed, so no partial bundle is left.
    public func run(
        plan: ReadPlan, selection: ExportSelection, directory: String, csv: Bool,
        progress: ((Int64, Double) -> Void)? = nil
    ) async throws -> ExportSummary {
        let fm = FileManager.default
        if let existing = try? fm.contentsOfDirectory(atPath: directory), !existing.isEmpty {
            throw ArchiverError(.notEmpty, "\(directory) is not empty: export into a new directory")
        }
        try fm.createDirectory(atPath: directory + "/" + ExportBundle.manifests, withIntermediateDirectories: true)
        do {
            return try await write(plan: plan, selection: selection, directory: directory, csv: csv, progress: progress)
        } catch {
            try? fm.removeItem(atPath: directory)
            throw error
        }
    }

    private func write(
        plan: ReadPlan, selection: ExportSelection, directory: String, csv: Bool,
        progress: ((Int64, Double) -> Void)?
    ) async throws -> ExportSummary {
        let started = ContinuousClock.now
        // Proofs link every snapshot from the first selected one to the cut: the export needs them all.
        let cuts = try await plan.allCuts()
        guard let head = cuts.last else { throw ArchiverError(.emptyArchive, "the archive is empty") }
        let relevant = Self.relevant(cuts, selection: selection, plan: plan)
        let records = try OutputFile(path: directory + "/" + ExportBundle.records)
        var proofs = ExportProofs(
            relevant: relevant, file: try OutputFile(path: directory + "/" + ExportBundle.proofs))
        let table = csv ? try OutputFile(path: directory + "/" + ExportBundle.csv) : nil
        try table?.write(Array((ExportBundle.csvColumns.joined(separator: ",") + "\n").utf8))
        let view = upcasters.isEmpty ? nil : try OutputFile(path: directory + "/" + ExportBundle.upcastView)
        var upcasting = try view.map { try UpcastingProjection(RenderedLinesWriter(file: $0), rules: upcasters) }

        var summary = ExportSummary()
        // The chain hash before the next record: each record's hash in turn (stored in v1, recomputed in v2),
        // starting from the first snapshot's chain start (the reader checks that every snapshot starts where the
        // one before ended).
        var previous = relevant.first?.facts.chainStart ?? .genesis
        var line: [UInt8] = []
        let reader = ArchiveReader(archive: archive, verifyChain: true)
        var whole = ReadPlan(cuts: relevant, maxPosition: nil, maxRecordedAt: nil, selector: plan.selector)
        whole.generation = plan.generation
        _ = try await reader.read(whole) { raw, fields in
            guard let hash = RecordDecoder.chainHash(raw, fields, after: previous) else {
                throw ArchiverError(.tampered, "record at position \(fields.position) has a malformed hash")
            }
            defer { previous = hash }
            guard try proofs.advance(to: fields.position) else { return }
            defer { proofs.leaves.append(RecordsTree.leafHash(hash)) }
            guard Self.selects(raw, fields, selection: selection, plan: plan) else { return }
            proofs.selected.append((proofs.leaves.count, fields.position, previous))
            line.removeAll(keepingCapacity: true)
            line.append(contentsOf: raw)
            line.append(0x0A)
            try records.write(line)
            if table != nil || upcasting != nil {
                try writeViews(raw, fields, hash: hash, table: table, upcasting: &upcasting, line: &line)
            }
            summary.events += 1
            if summary.events % 100_000 == 0 { progress?(summary.events, Flusher.seconds(since: started)) }
        }
        try proofs.finish()
        try records.close()
        try proofs.file.close()
        try table?.close()
        try upcasting?.finish()
        try view?.close()
        if !upcasters.isEmpty {
            try Data(upcasters.canonicalJSON.utf8).write(
                to: URL(fileURLWithPath: directory + "/" + ExportBundle.upcastRules))
        }
        let snapshots = proofs.snapshotsWithEvents
        summary.manifests = try await writeManifests(cuts, from: snapshots.first, directory: directory)
        try writeInfo(
            head: head, selection: selection, events: summary.events, snapshots: snapshots, directory: directory,
            csv: csv)
        summary.snapshots = snapshots.count
        summary.seconds = Flusher.seconds(since: started)
        return summary
    }

    /// Whether a record of the plan's range is selected: after the selection's start, up to the cut, and
    /// matching its filter.
    private static func selects(
        _ raw: UnsafeRawBufferPointer, _ fields: RecordFields, selection: ExportSelection, plan: ReadPlan
    ) -> Bool {
        if let from = selection.fromPosition, fields.position < from { return false }
        if let from = selection.fromRecordedAt, fields.recordedAtNanos < from { return false }
        if let to = plan.maxPosition, fields.position > to { return false }
        if let to = plan.maxRecordedAt, fields.recordedAtNanos > to { return false }
        guard !selection.filter.isEmpty else { return true }
        return selection.filter.matches(
            stream: RecordDecoder.string(raw, fields.stream), type: RecordDecoder.string(raw, fields.type))
    }

    /// The bundle's `info.json` and README.
    private func writeInfo(
        head: CutPoint, selection: ExportSelection, events: Int64, snapshots: [String], directory: String, csv: Bool
    ) throws {
        let info = ExportBundle.Info(
            format: ExportBundle.format, dataset: archive.settings.datasetID, cutSnapshot: head.snapshotID,
            cutChainHead: head.facts.chainHead.hex, cutLastPosition: head.facts.lastPosition,
            selection: selection.description, events: events, snapshots: snapshots,
            createdAt: ArchiveTime.rfc3339Micros(Int64(Date().timeIntervalSince1970 * 1e9)), producer: producer,
            upcasters: upcasters.identity)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try encoder.encode(info).write(to: URL(fileURLWithPath: directory + "/" + ExportBundle.info))
        try Data(Self.readme(info: info, csv: csv).utf8).write(
            to: URL(fileURLWithPath: directory + "/" + ExportBundle.readme))
    }

    /// Snapshots that can hold a selected event, by their recorded position and time ranges.
    static func relevant(_ cuts: [CutPoint], selection: ExportSelection, plan: ReadPlan) -> [CutPoint] {
        cuts.filter { cut in
            let f = cut.facts
            if let from = selection.fromPosition, f.lastPosition < from { return false }
            if let from = selection.fromRecordedAt, f.maxRecordedAtNanos < from { return false }
            if let to = plan.maxPosition, f.firstPosition > to { return false }
            if let to = plan.maxRecordedAt, f.minRecordedAtNanos > to { return false }
            return f.eventCount > 0
        }
    }

    /// The CSV row and the upcast view of one selected record, with its data decrypted when it is sealed.
    private func writeViews(
        _ raw: UnsafeRawBufferPointer, _ fields: RecordFields, hash: ChainHash, table: OutputFile?,
        upcasting: inout UpcastingProjection<RenderedLinesWriter>?, line: inout [UInt8]
    ) throws {
        line.removeAll(keepingCapacity: true)
        let data = UnsafeRawBufferPointer(rebasing: raw[fields.data])
        var opened: [UInt8]? = nil
        if SubjectCipher.isEnvelope(data) {
            opened = Array(
                try SubjectCipher.open(
                    data, keys: subjectKeys, id: RecordDecoder.string(raw, fields.id), position: fields.position
                ).utf8)
        }
        if let table {
            Self.csvRow(raw, fields, hash: hash, data: opened, into: &line)
            try table.write(line)
        }
        if upcasting != nil {
            try (opened ?? Array(data)).withUnsafeBytes {
                try upcasting!.apply(ReplayEvent(line: raw, fields: fields, data: $0))
            }
        }
    }

    /// The manifests from the first snapshot with a selected event to the cut: each proof's root is in one of
    /// them, and their parent hashes link them to the cut (and to a published anchor of it).
    /// - Returns: how many were written.
    private func writeManifests(_ cuts: [CutPoint], from first: String?, directory: String) async throws -> Int {
        let chainFrom = cuts.firstIndex { $0.snapshotID == first } ?? (cuts.count - 1)
        for cut in cuts[chainFrom...] {
            let bytes = try await archive.store.get(archive.events.manifestKey(snapshotID: cut.snapshotID))
            try Data(bytes).write(
                to: URL(fileURLWithPath: "\(directory)/\(ExportBundle.manifests)/\(cut.snapshotID).json"))
        }
        return cuts.count - chainFrom
    }

    /// One table row; its `hash` column is the record's chain hash (stored in v1, recomputed in v2).
    static func csvRow(
        _ raw: UnsafeRawBufferPointer, _ f: RecordFields, hash: ChainHash, data: [UInt8]?, into out: inout [UInt8]
    ) {
        out.append(contentsOf: String(f.position).utf8)
        out.append(0x2C)
        Array(RecordDecoder.string(raw, f.stream).utf8).withUnsafeBytes { ExportBundle.csvField($0, into: &out) }
        out.append(0x2C)
        out.append(contentsOf: String(f.version).utf8)
        out.append(0x2C)
        Array(RecordDecoder.string(raw, f.id).utf8).withUnsafeBytes { ExportBundle.csvField($0, into: &out) }
        out.append(0x2C)
        Array(RecordDecoder.string(raw, f.type).utf8).withUnsafeBytes { ExportBundle.csvField($0, into: &out) }
        out.append(0x2C)
        out.append(contentsOf: ArchiveTime.rfc3339Micros(f.recordedAtNanos).utf8)
        out.append(0x2C)
        if let data {
            data.withUnsafeBytes { ExportBundle.csvField($0, into: &out) }
        } else {
            ExportBundle.csvField(UnsafeRawBufferPointer(rebasing: raw[f.data]), into: &out)
        }
        out.append(0x2C)
        ExportBundle.csvField(UnsafeRawBufferPointer(rebasing: raw[f.metadata]), into: &out)
        out.append(0x2C)
        hash.appendHex(to: &out)
        out.append(0x0A)
    }

    static func readme(info: ExportBundle.Info, csv: Bool) -> String {
        """
        # Export bundle

        \(info.events) events from archive dataset `\(info.dataset)`, read at snapshot `\(info.cutSnapshot)` \
        (last position \(info.cutLastPosition), chain head `\(info.cutChainHead)`), made \(info.createdAt) by \
        \(info.producer). Selection: \(info.selection.isEmpty ? "every event" : info.selection.map { "\($0.key)=\($0.value.joined(separator: ","))" }.sorted().joined(separator: "; ")).

        ## Files

        - `records.jsonl`: the events, one archived record per line, byte for byte as the archive stores them.
        \(csv ? "- `events.csv`: the same events as a table (RFC 4180), row n is line n of records.jsonl; the data of an encrypted event (crypto-shredding) is shown decrypted or redacted and is not covered by the proofs.\n" : "")\
        - `proofs.jsonl`: line n proves line n of records.jsonl.
        - `manifests/`: the archive's manifests from the first snapshot holding an exported event to the cut.
        - `bundle.json`: what was selected and from where.
        \(info.upcasters != nil ? "- `upcast.jsonl`: the events as replay presents them through the upcaster rules in `upcasters.json` (whose SHA-256 is `upcasters_sha256` in bundle.json); recompute it from records.jsonl with the rules (docs/REPLAY.md \"Upcasting\"). Not covered by the proofs.\n" : "")\

        ## Checking it

        With the archiver tool, and the archive owner's Ed25519 public key obtained from them directly:

            archiver verify-bundle . --public-key archive.pub [--anchor anchors.txt]

        By hand, for each line n (the archive format is documented in the project's docs/FORMAT.md):

        1. `body` = the record line up to, not including, `,"hash":"` (format 1), or without its final `}`
           (format 2, whose records carry no hash); `previous` = proof n's `previous`. `hash` = SHA-256(previous
           as 32 bytes ‖ body); in format 1 it must equal the record's `hash`. Step 2 then checks that the
           archive's hash chain committed to exactly these bytes.
        2. The leaf is SHA-256(0x00 ‖ hash as 32 bytes). Fold the audit path `path` into it as RFC 9162
           §2.1.3.2 describes (node = SHA-256(0x01 ‖ left ‖ right)), with leaf index `index` in a tree of `size`
           leaves. The result must equal `archiver.records_root` in `manifests/<snapshot>.json`, whose
           `archiver.event_count` must equal `size` and whose position range must hold the record's position.
        3. Each manifest's Ed25519 signature (`archiver.signature`, key `archiver.key_id`) must verify against
           the owner's public key: the formats and two ways to check it follow below.
        4. Each manifest's `archiver.parent_manifest_sha256` must equal SHA-256 of the previous manifest file,
           which links every proof to the cut snapshot; compare the cut's chain head with a published anchor.

        """ + BundleReadme.signatures
    }
}

/// A buffered, create-only output file.
final class OutputFile {
    private let handle: FileHandle
    private var buffer: [UInt8] = []
    let path: String

    init(path: String) throws {
        guard FileManager.default.createFile(atPath: path, contents: nil) else {
            throw ArchiverError(.invalidArgument, "cannot create \(path): check the directory and permissions")
        }
        guard let handle = FileHandle(forWritingAtPath: path) else {
            throw ArchiverError(.invalidArgument, "cannot open \(path) for writing")
        }
        self.handle = handle
        self.path = path
        buffer.reserveCapacity(1 << 20)
    }

    func write(_ bytes: [UInt8]) throws {
        buffer.append(contentsOf: bytes)
        if buffer.count >= 1 << 20 { try flush() }
    }

    private func flush() throws {
        try handle.write(contentsOf: buffer)
        buffer.removeAll(keepingCapacity: true)
    }

    func close() throws {
        try flush()
        try handle.synchronize()
        try handle.close()
    }
}
