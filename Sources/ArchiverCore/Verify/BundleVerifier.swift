import ArchiveFormat
import Crypto
import Foundation
import Lode

/// What `verify-bundle` found.
public struct BundleReport: Sendable {
    public var events = 0
    public var manifests = 0
    public var cutSnapshot = ""
    public var cutChainHead = ""
    public var cutLastPosition: Int64 = 0
    public var signedBy: Set<String> = []
    public var anchorsChecked = 0
    public var problems: [VerificationProblem] = []

    public var isIntact: Bool { problems.isEmpty }
}

/// Checks an export bundle without the archive: every record against its inclusion proof, every proof
/// against a records root in a manifest, every manifest against the trusted public keys, the manifests'
/// parent links up to the cut, the CSV table against the records, and optionally published anchors.
///
/// ```swift
/// let report = try BundleVerifier(directory: "bundle", trustedKeys: TrustedKeys([publicKey])).run()
/// ```
public struct BundleVerifier: Sendable {
    public let directory: String
    public let trustedKeys: TrustedKeys
    /// Accept manifests without signatures (the bundle then proves consistency only, not origin).
    public var allowUnsigned: Bool
    public var anchors: [Anchor]

    public init(directory: String, trustedKeys: TrustedKeys, allowUnsigned: Bool = false, anchors: [Anchor] = []) {
        self.directory = directory
        self.trustedKeys = trustedKeys
        self.allowUnsigned = allowUnsigned
        self.anchors = anchors
    }

    struct LoadedManifest {
        var manifest: Manifest
        var facts: ArchiveMetadata
        var sha256: String
    }

    /// - Throws: ``ArchiverError`` `.unreadable` when the bundle's files are missing or malformed; altered
    ///   contents are reported as problems.
    public func run() throws -> BundleReport {
        var report = BundleReport()
        let info = try readInfo()
        report.cutSnapshot = info.cutSnapshot
        report.cutChainHead = info.cutChainHead
        report.cutLastPosition = info.cutLastPosition
        let manifests = try checkManifests(info: info, into: &report)
        try checkRecords(manifests: manifests, into: &report)
        checkAnchors(manifests: manifests, into: &report)
        return report
    }

    private func file(_ name: String) -> String { directory + "/" + name }

    private func readBytes(_ name: String) throws -> [UInt8] {
        guard let data = FileManager.default.contents(atPath: file(name)) else {
            throw ArchiverError(.unreadable, "\(file(name)) is missing: not a complete export bundle")
        }
        return Array(data)
    }

    private func readInfo() throws -> ExportBundle.Info {
        let bytes = try readBytes(ExportBundle.info)
        guard let info = try? JSONDecoder().decode(ExportBundle.Info.self, from: Data(bytes)) else {
            throw ArchiverError(.unreadable, "\(file(ExportBundle.info)) is not a bundle description")
        }
        guard info.format == ExportBundle.format else {
            throw ArchiverError(
                .unreadable, "bundle format '\(info.format)' is not '\(ExportBundle.format)': upgrade archiver")
        }
        return info
    }

    /// Loads the manifests, checks signatures and the parent chain ending at the cut; returns them by id.
    private func checkManifests(
        info: ExportBundle.Info, into report: inout BundleReport
    ) throws
        -> [String: LoadedManifest]
    {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: file(ExportBundle.manifests))) ?? []
        var byID: [String: LoadedManifest] = [:]
        for name in names.sorted() where name.hasSuffix(".json") {
            let location = "\(ExportBundle.manifests)/\(name)"
            let bytes = try readBytes(location)
            let loaded: LoadedManifest
            do {
                let manifest = try Manifest.decode(bytes, key: location)
                loaded = LoadedManifest(
                    manifest: manifest, facts: try ArchiveMetadata(entries: manifest.stringMetadata),
                    sha256: HexCoding.encode(SHA256.hash(data: bytes)))
            } catch {
                report.problems.append(Verifier.problem(error, location: location))
                continue
            }
            if loaded.manifest.snapshotID + ".json" != name {
                report.problems.append(
                    VerificationProblem(
                        kind: .tampered, location: location, message: "the file name does not match its snapshot id"))
            }
            checkSignature(loaded.manifest, location: location, into: &report)
            byID[loaded.manifest.snapshotID] = loaded
        }
        report.manifests = byID.count
        // Walk back from the cut through parent links: every manifest must be on that path.
        guard var current = byID[info.cutSnapshot] else {
            report.problems.append(
                VerificationProblem(
                    kind: .unreadable, location: ExportBundle.manifests,
                    message: "the cut snapshot \(info.cutSnapshot)'s manifest is not in the bundle"))
            return byID
        }
        let cutLocation = "snapshot \(info.cutSnapshot)"
        if current.facts.chainHead.hex != info.cutChainHead || current.facts.lastPosition != info.cutLastPosition {
            report.problems.append(
                VerificationProblem(
                    kind: .tampered, location: cutLocation,
                    message: "bundle.json's cut facts differ from the cut manifest's"))
        }
        var onPath: Set<String> = [current.manifest.snapshotID]
        while let parentID = current.manifest.parentSnapshotID, let parent = byID[parentID] {
            let location = "snapshot \(current.manifest.snapshotID)"
            if current.facts.parentManifestSHA256 != parent.sha256 {
                report.problems.append(
                    VerificationProblem(
                        kind: .tampered, location: location,
                        message: "its parent manifest \(parentID) hashes to \(parent.sha256.prefix(16))…, but it "
                            + "records \(current.facts.parentManifestSHA256.prefix(16))…: a manifest was altered"))
            }
            if current.facts.chainStart != parent.facts.chainHead {
                report.problems.append(
                    VerificationProblem(
                        kind: .tampered, location: location,
                        message: "its hash chain does not start where its parent's ends"))
            }
            onPath.insert(parentID)
            current = parent
        }
        for id in byID.keys.sorted() where !onPath.contains(id) {
            report.problems.append(
                VerificationProblem(
                    kind: .tampered, location: "snapshot \(id)",
                    message: "this manifest is not on the parent chain of the cut snapshot \(info.cutSnapshot)"))
        }
        return byID
    }

    private func checkSignature(_ manifest: Manifest, location: String, into report: inout BundleReport) {
        switch trustedKeys.check(manifest) {
        case .valid(let keyID):
            report.signedBy.insert(keyID)
        case .unsigned:
            if !allowUnsigned {
                report.problems.append(
                    VerificationProblem(
                        kind: .untrustedKey, location: location,
                        message: "the manifest is not signed, so the bundle cannot prove where it came from "
                            + "(pass --allow-unsigned to check consistency only)"))
            }
        case .unknownKey(let id):
            report.problems.append(
                VerificationProblem(
                    kind: .untrustedKey, location: location,
                    message: "signed by key \(id), which is not among the given public keys"))
        case .invalid(let id):
            report.problems.append(
                VerificationProblem(
                    kind: .tampered, location: location,
                    message: "the signature by key \(id) does not match: the manifest was altered after signing"))
        }
    }

    private func checkRecords(manifests: [String: LoadedManifest], into report: inout BundleReport) throws {
        let records = try readBytes(ExportBundle.records)
        let proofLines = String(decoding: try readBytes(ExportBundle.proofs), as: UTF8.self)
            .split(separator: "\n", omittingEmptySubsequences: true)
        var csvRows: [[[UInt8]]]? = nil
        if FileManager.default.fileExists(atPath: file(ExportBundle.csv)) {
            var rows = try ExportBundle.parseCSV(try readBytes(ExportBundle.csv))
            if rows.first?.map({ String(decoding: $0, as: UTF8.self) }) != ExportBundle.csvColumns {
                report.problems.append(
                    VerificationProblem(
                        kind: .tampered, location: ExportBundle.csv, message: "the header row is not the expected one"))
            }
            if !rows.isEmpty { rows.removeFirst() }
            csvRows = rows
        }
        var lineNumber = 0
        var lastPosition = Int64.min
        records.withUnsafeBytes { buffer in
            var cursor = LineCursor(buffer: buffer)
            while let line = cursor.next() {
                lineNumber += 1
                let location = "\(ExportBundle.records) line \(lineNumber)"
                guard lineNumber <= proofLines.count else {
                    report.problems.append(
                        VerificationProblem(kind: .tampered, location: location, message: "no proof for this record"))
                    continue
                }
                let fields: RecordFields
                let proof: ExportBundle.Proof
                do {
                    fields = try RecordDecoder.decode(line)
                    proof = try ExportBundle.Proof(parsing: String(proofLines[lineNumber - 1]))
                } catch {
                    report.problems.append(
                        VerificationProblem(kind: .tampered, location: location, message: "\(error)"))
                    continue
                }
                if let problem = check(line, fields, proof, manifests: manifests) {
                    report.problems.append(
                        VerificationProblem(
                            kind: .tampered, location: "\(location) (position \(fields.position))", message: problem))
                }
                if fields.position <= lastPosition {
                    report.problems.append(
                        VerificationProblem(
                            kind: .tampered, location: location,
                            message: "position \(fields.position) does not follow \(lastPosition): lines were reordered"
                        ))
                }
                lastPosition = fields.position
                let chainHash = proof.previous.next(body: UnsafeRawBufferPointer(rebasing: line[0..<fields.bodyEnd]))
                if let rows = csvRows, lineNumber <= rows.count,
                    let problem = Self.compare(row: rows[lineNumber - 1], with: line, fields, hash: chainHash)
                {
                    report.problems.append(
                        VerificationProblem(
                            kind: .tampered, location: "\(ExportBundle.csv) row \(lineNumber + 1)", message: problem))
                }
            }
        }
        report.events = lineNumber
        if proofLines.count != lineNumber {
            report.problems.append(
                VerificationProblem(
                    kind: .tampered, location: ExportBundle.proofs,
                    message: "\(proofLines.count) proofs for \(lineNumber) records: lines were added or removed"))
        }
        if let rows = csvRows, rows.count != lineNumber {
            report.problems.append(
                VerificationProblem(
                    kind: .tampered, location: ExportBundle.csv,
                    message: "\(rows.count) rows for \(lineNumber) records: rows were added or removed"))
        }
    }

    /// One record against its proof; nil when it holds.
    private func check(
        _ line: UnsafeRawBufferPointer, _ fields: RecordFields, _ proof: ExportBundle.Proof,
        manifests: [String: LoadedManifest]
    ) -> String? {
        guard proof.position == fields.position else {
            return "the proof is for position \(proof.position): records or proofs were reordered"
        }
        guard let snapshot = manifests[proof.snapshotID] else {
            return "the proof names snapshot \(proof.snapshotID), whose manifest is not in the bundle"
        }
        let facts = snapshot.facts
        guard let root = facts.recordsRoot else {
            return "snapshot \(proof.snapshotID)'s manifest has no records root"
        }
        guard Int64(proof.size) == facts.eventCount, facts.firstPosition <= fields.position,
            fields.position <= facts.lastPosition
        else {
            return "snapshot \(proof.snapshotID) holds positions \(facts.firstPosition)...\(facts.lastPosition) "
                + "in \(facts.eventCount) events; the proof does not fit it"
        }
        if proof.index == 0 && proof.previous != facts.chainStart {
            return "the first record of snapshot \(proof.snapshotID) must follow its chain start"
        }
        // Format 2 records carry no hash: the recomputed one is checked against the records root below.
        let hash = proof.previous.next(body: UnsafeRawBufferPointer(rebasing: line[0..<fields.bodyEnd]))
        guard !fields.hasHash || RecordDecoder.hashMatches(line, fields, hash) else {
            return "the record's bytes do not hash to its chain hash: the event was altered"
        }
        guard
            RecordsTree.root(
                leaf: RecordsTree.leafHash(hash), index: proof.index, size: proof.size, path: proof.path) == root
        else {
            guard fields.hasHash else {
                // Without a stored hash, an altered event and a wrong proof fail at the same step.
                return "the record's chain hash and inclusion proof do not lead to snapshot \(proof.snapshotID)'s "
                    + "records root: the event was altered, or is not in that snapshot at that place"
            }
            return "the inclusion proof does not lead to snapshot \(proof.snapshotID)'s records root: the event "
                + "is not in that snapshot at that place"
        }
        return nil
    }

    /// A CSV row against its record; nil when every column agrees.
    static func compare(
        row: [[UInt8]], with line: UnsafeRawBufferPointer, _ f: RecordFields, hash: ChainHash
    ) -> String? {
        guard row.count == ExportBundle.csvColumns.count else {
            return "\(row.count) columns, expected \(ExportBundle.csvColumns.count)"
        }
        let text = row.map { String(decoding: $0, as: UTF8.self) }
        let expected: [(String, Bool)] = [
            ("position", text[0] == String(f.position)),
            ("stream", text[1] == RecordDecoder.string(line, f.stream)),
            ("version", text[2] == String(f.version)),
            ("id", text[3] == RecordDecoder.string(line, f.id)),
            ("type", text[4] == RecordDecoder.string(line, f.type)),
            ("recorded_at", ArchiveTime.parseRFC3339(text[5]) == f.recordedAtNanos),
            // The table shows an encrypted event's data decrypted or redacted: only the envelope is proven.
            (
                "data",
                SubjectCipher.isEnvelope(UnsafeRawBufferPointer(rebasing: line[f.data]))
                    || row[6].elementsEqual(UnsafeRawBufferPointer(rebasing: line[f.data]))
            ),
            ("metadata", row[7].elementsEqual(UnsafeRawBufferPointer(rebasing: line[f.metadata]))),
            ("hash", text[8] == hash.hex),
        ]
        let wrong = expected.filter { !$0.1 }.map(\.0)
        return wrong.isEmpty ? nil : "column(s) \(wrong.joined(separator: ", ")) differ from the proven record"
    }

    private func checkAnchors(manifests: [String: LoadedManifest], into report: inout BundleReport) {
        for anchor in anchors {
            guard let m = manifests[anchor.snapshotID] else { continue }
            report.anchorsChecked += 1
            if m.facts.chainHead.hex != anchor.chainHead || m.facts.lastPosition != anchor.lastPosition
                || m.sha256 != anchor.manifestSHA256
            {
                report.problems.append(
                    VerificationProblem(
                        kind: .tampered, location: "snapshot \(anchor.snapshotID)",
                        message: "differs from the published anchor of \(anchor.createdAt): the history was rewritten"))
            }
        }
        if !anchors.isEmpty && report.anchorsChecked == 0 {
            report.problems.append(
                VerificationProblem(
                    kind: .unreadable, location: "anchors",
                    message: "no anchor names a snapshot in this bundle: export up to an anchored cut"))
        }
    }
}
