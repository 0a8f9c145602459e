import ArchiveFormat
@preconcurrency import Crypto
import Foundation

/// The signed record of one restore drill: which cut was restored, what was compared, what was found.
///
/// Stored as one JSON line per snapshot of the archive's `drills` dataset (see ``DrillLog``). The signature
/// covers the SHA-256 of the attestation's canonical JSON (sorted keys, without the signature fields), so any
/// edited field invalidates it.
public struct DrillAttestation: Sendable, Codable, Hashable {
    public enum Result: String, Sendable, Codable, Hashable {
        case pass, fail
    }

    public var format = "1"
    /// The events snapshot restored, its cut name and its last position: the drill covers positions up to it.
    public var cutSnapshotID: String
    public var cutName: String?
    public var lastPosition: Int64
    /// The chain head the restored events re-hash to.
    public var chainHead: String
    /// Events restored into the scratch store, and streams.
    public var restoredEvents: Int64
    public var restoredStreams: Int64
    /// Events compared with the live store (those above its pruned position), and stream heads compared.
    public var liveEventsCompared: Int64
    public var headsCompared: Int64
    /// The live store's pruned position when the drill ran: events at or below it were checked against the
    /// archive's manifest facts instead.
    public var prunedThrough: Int64
    /// SHA-256 over the restored events (canonical form) and over the live store's events in the same range.
    public var restoredEventsDigest: String
    public var liveEventsDigest: String
    /// SHA-256 over the rows of the archive replay (merge-patch fold) and over the restored store re-folded.
    public var replayDigest: String
    public var refoldDigest: String
    /// Start time (RFC 3339) and length.
    public var startedAt: String
    public var durationMilliseconds: Int64
    /// The producer, e.g. `lode-archiver 0.1.0`.
    public var binaryVersion: String
    public var result: Result
    /// One line per difference found (empty when the drill passed).
    public var differences: [String]
    /// Ed25519 signature (base64) of ``signedDigest`` and its key id; nil when the archive has no signing key.
    public var signature: String?
    public var keyID: String?

    enum CodingKeys: String, CodingKey {
        case format
        case cutSnapshotID = "cut_snapshot_id"
        case cutName = "cut_name"
        case lastPosition = "last_position"
        case chainHead = "chain_head"
        case restoredEvents = "restored_events"
        case restoredStreams = "restored_streams"
        case liveEventsCompared = "live_events_compared"
        case headsCompared = "heads_compared"
        case prunedThrough = "pruned_through"
        case restoredEventsDigest = "restored_events_sha256"
        case liveEventsDigest = "live_events_sha256"
        case replayDigest = "replay_sha256"
        case refoldDigest = "refold_sha256"
        case startedAt = "started_at"
        case durationMilliseconds = "duration_ms"
        case binaryVersion = "binary_version"
        case result, differences, signature
        case keyID = "key_id"
    }

    public var passed: Bool { result == .pass }

    /// The start time in nanoseconds since the epoch (nil when the stored text does not parse).
    public var startedAtNanos: Int64? {
        ArchiveTime.parseRFC3339(startedAt)
    }

    /// The JSON line as stored.
    public func encoded() throws -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return Array(try encoder.encode(self))
    }

    public static func decode(_ line: [UInt8]) throws -> DrillAttestation {
        try JSONDecoder().decode(DrillAttestation.self, from: Data(line))
    }

    /// What the signature covers: SHA-256 of a fixed prefix and the canonical JSON without the signature fields.
    public func signedDigest() throws -> [UInt8] {
        var unsigned = self
        unsigned.signature = nil
        unsigned.keyID = nil
        var text = Array("lode-archiver drill attestation v1\n".utf8)
        text.append(contentsOf: try unsigned.encoded())
        return Array(SHA256.hash(data: text))
    }

    /// Signs with `signer`; leaves the attestation unsigned when there is none.
    public mutating func sign(with signer: ManifestSigner?) throws {
        guard let signer else {
            signature = nil
            keyID = nil
            return
        }
        keyID = signer.keyID
        signature = try signer.sign(try signedDigest())
    }

    /// Checks the signature against trusted keys, with the verdicts manifests use.
    public func check(_ trusted: TrustedKeys) -> TrustedKeys.Verdict {
        guard let signature, let keyID else { return .unsigned }
        guard let key = trusted.keys[keyID] else { return .unknownKey(keyID) }
        guard let bytes = Data(base64Encoded: signature), let digest = try? signedDigest(),
            key.isValidSignature(bytes, for: digest)
        else { return .invalid(keyID: keyID) }
        return .valid(keyID: keyID)
    }
}
