import ArchiveFormat
import Foundation

/// The rule that a prune needs a recent passing restore drill: hot events become the archive's only copy, so
/// prune first asks for proof that the archive restores, replays and matches the store up to the prune point.
///
/// An attestation counts when it passed, its cut's last position is at or above the prune target, it is younger
/// than ``maxAgeSeconds``, and, when the archive trusts signing keys, it is validly signed by one of them.
///
/// ```swift
/// try await PruneGuard(maxAgeSeconds: 7 * 86_400).check(archive: archive, target: 1_200)
/// ```
public struct PruneGuard: Sendable {
    public var maxAgeSeconds: Double
    /// Seconds since the epoch the drill's age is measured from (nil: the time of the check).
    public var now: Double?

    public init(maxAgeSeconds: Double, now: Double? = nil) {
        self.maxAgeSeconds = maxAgeSeconds
        self.now = now
    }

    /// - Returns: the attestation that allows the prune.
    /// - Throws: ``ArchiverError`` `.pruneRefused` naming what is missing and the fix.
    @discardableResult
    public func check(archive: Archive, target: Int64) async throws -> DrillAttestation {
        let attestations = try await DrillLog(archive: archive).attestations()
        let oldest = Int64(((now ?? Date().timeIntervalSince1970) - maxAgeSeconds) * 1e9)
        var reasons: [String] = []
        for attestation in attestations.reversed() where attestation.passed {
            guard let started = attestation.startedAtNanos, started >= oldest else {
                reasons.append("the newest passing drill started at \(attestation.startedAt), too long ago")
                break
            }
            guard attestation.lastPosition >= target else {
                reasons.append("the newest passing drill covers position \(attestation.lastPosition) only")
                continue
            }
            if !archive.trustedKeys.isEmpty {
                guard case .valid = attestation.check(archive.trustedKeys) else {
                    reasons.append("the drill of \(attestation.startedAt) is not signed by a trusted key")
                    continue
                }
            }
            return attestation
        }
        let why = reasons.first ?? "no passing drill is recorded in the archive"
        throw ArchiverError(
            .pruneRefused,
            "prune needs a passing restore drill covering position \(target) younger than "
                + "\(Self.age(maxAgeSeconds)), and \(why): run `archiver drill --to <cut>` first, or pass "
                + "--without-drill to prune anyway")
    }

    /// `7d`, `12h`, `90m` or seconds, for messages.
    static func age(_ seconds: Double) -> String {
        for (unit, length) in [("d", 86_400.0), ("h", 3_600.0), ("m", 60.0)]
        where seconds >= length && seconds.truncatingRemainder(dividingBy: length) == 0 {
            return "\(Int(seconds / length))\(unit)"
        }
        return "\(Int(seconds))s"
    }
}
