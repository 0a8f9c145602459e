import ArchiveFormat
import Foundation
import Lode
import RawJSON

/// A small, publishable statement of the archive's state: which snapshot is the head, where the hash chain
/// stands and what the head manifest's bytes hash to. Published outside the archive's reach (a ticket, a
/// transparency log, an email), it lets `verify --anchor` detect a history rewritten end to end by someone
/// with write access to the archive.
///
/// One JSON object per line:
/// `{"anchor":1,"snapshot_id":"…","last_position":"…","chain_head":"…","manifest_sha256":"…","created_at":"…"}`
/// plus `"signature"` and `"key_id"` when the head manifest is signed.
public struct Anchor: Sendable, Hashable {
    public var snapshotID: String
    public var lastPosition: Int64
    public var chainHead: String
    public var manifestSHA256: String
    public var createdAt: String
    public var signature: String?
    public var keyID: String?

    public var line: String {
        var fields: [(String, String)] = [
            ("snapshot_id", snapshotID), ("last_position", String(lastPosition)), ("chain_head", chainHead),
            ("manifest_sha256", manifestSHA256), ("created_at", createdAt),
        ]
        if let signature, let keyID { fields += [("signature", signature), ("key_id", keyID)] }
        let body = fields.map { "\"\($0.0)\":\"\($0.1)\"" }.joined(separator: ",")
        return "{\"anchor\":1,\(body)}"
    }

    /// Parses anchor lines; blank lines and lines starting with `#` are skipped.
    public static func parse(_ text: String, file: String) throws -> [Anchor] {
        var anchors: [Anchor] = []
        for (number, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = raw.trimmingCharacters(in: .whitespaces)
            if line.isEmpty || line.hasPrefix("#") { continue }
            guard case .object(let object)? = try? JSONValue.parse(line), object["anchor"]?.int64 == 1,
                let snapshot = object["snapshot_id"]?.string,
                let position = object["last_position"]?.string.flatMap({ Int64($0) }),
                let chain = object["chain_head"]?.string, let sha = object["manifest_sha256"]?.string
            else {
                throw ArchiverError(
                    .invalidArgument, "\(file) line \(number + 1) is not an anchor line (see `archiver anchor --help`)")
            }
            anchors.append(
                Anchor(
                    snapshotID: snapshot, lastPosition: position, chainHead: chain, manifestSHA256: sha,
                    createdAt: object["created_at"]?.string ?? "", signature: object["signature"]?.string,
                    keyID: object["key_id"]?.string))
        }
        return anchors
    }
}

extension Archive {
    /// The anchor for the current head.
    public func anchor() async throws -> Anchor {
        guard let manifest = try await events.head() else {
            throw ArchiverError(.emptyArchive, "the archive has no snapshots yet: nothing to anchor")
        }
        let head = try Self.cutPoints([manifest])[0]
        let metadata = head.manifest.stringMetadata
        return Anchor(
            snapshotID: head.snapshotID, lastPosition: head.facts.lastPosition, chainHead: head.facts.chainHead.hex,
            manifestSHA256: try await manifestSHA256(snapshotID: head.snapshotID),
            createdAt: ArchiveTime.rfc3339Micros(Int64(Date().timeIntervalSince1970 * 1e9)),
            signature: metadata[ArchiveSigning.signatureKey], keyID: metadata[ArchiveSigning.keyIDKey])
    }
}

extension Verifier {
    /// Checks that every anchor's snapshot is in the archive with the anchored chain head and manifest bytes.
    public func check(anchors: [Anchor], into report: inout VerificationReport) async throws {
        let cuts = try await archive.cutPoints()
        let byID = Dictionary(cuts.map { ($0.snapshotID, $0) }, uniquingKeysWith: { a, _ in a })
        let headPosition = cuts.last?.facts.lastPosition ?? 0
        for anchor in anchors {
            let location = "anchor for snapshot \(anchor.snapshotID)"
            guard let cut = byID[anchor.snapshotID] else {
                let why =
                    anchor.lastPosition > headPosition
                    ? "the anchor (through position \(anchor.lastPosition)) is newer than the archive's head (through "
                        + "position \(headPosition)): snapshots after the head were removed or hidden"
                    : "the anchored snapshot is not in the archive's history: history was rewritten"
                report.problems.append(VerificationProblem(kind: .tampered, location: location, message: why))
                continue
            }
            let sha = try? await archive.manifestSHA256(snapshotID: cut.snapshotID)
            let differences = Self.anchorDifferences(
                anchor, chainHead: cut.facts.chainHead.hex, manifestSHA256: sha, lastPosition: cut.facts.lastPosition)
            if !differences.isEmpty {
                report.problems.append(
                    VerificationProblem(
                        kind: .tampered, location: location,
                        message: "the archive's snapshot differs from the anchor ("
                            + differences.joined(separator: "; ")
                            + "): history was rewritten after the anchor was published"))
            }
        }
    }
}

extension Verifier {
    /// Each field in which the archive's snapshot differs from the anchor, as `FIELD ARCHIVE vs anchored ANCHOR`
    /// (hashes in full: two values that share a prefix must not read as equal).
    static func anchorDifferences(
        _ anchor: Anchor, chainHead: String, manifestSHA256: String?, lastPosition: Int64
    ) -> [String] {
        var differences: [String] = []
        if chainHead != anchor.chainHead {
            differences.append("chain head \(chainHead) vs anchored \(anchor.chainHead)")
        }
        if manifestSHA256 != anchor.manifestSHA256 {
            let actual = manifestSHA256 ?? "unreadable"
            differences.append("manifest SHA-256 \(actual) vs anchored \(anchor.manifestSHA256)")
        }
        if lastPosition != anchor.lastPosition {
            differences.append("last position \(lastPosition) vs anchored \(anchor.lastPosition)")
        }
        return differences
    }
}
