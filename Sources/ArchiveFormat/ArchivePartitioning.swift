import Crypto
import Lode

/// How event records are split into hive partitions inside a snapshot.
///
/// The default, `category/day`, lets DuckDB and other engines prune by stream category and by UTC day:
/// `datasets/events/partitions/category=account/day=2026-11-23/segments/<id>/data/data.zst`.
/// The category is the stream name up to its first `-` (the Message DB convention: `account-42` →
/// `account`); a stream without `-` is its own category.
public enum ArchivePartitioning: String, Sendable, CaseIterable {
    /// `category=<category>/day=<YYYY-MM-DD>`
    case categoryDay = "category-day"
    /// `day=<YYYY-MM-DD>`
    case day
    /// One file per snapshot, no partitions (default Lode layout).
    case none

    /// The hive keys, in path order.
    public var keys: [String] {
        switch self {
        case .categoryDay: ["category", "day"]
        case .day: ["day"]
        case .none: []
        }
    }

    /// The partition values of one event, in ``keys`` order (not yet percent-encoded; a long category is
    /// bounded by ``boundedValue(_:)``).
    public func values(stream: String, recordedAtNanos: Int64) -> [String] {
        switch self {
        case .categoryDay: [Self.boundedValue(Self.category(of: stream)), ArchiveTime.day(ofNanos: recordedAtNanos)]
        case .day: [ArchiveTime.day(ofNanos: recordedAtNanos)]
        case .none: []
        }
    }

    /// The stream's category: the part before the first `-`, or the whole name.
    public static func category(of stream: String) -> String {
        if let dash = stream.utf8.firstIndex(of: UInt8(ascii: "-")) {
            return String(stream[..<dash])
        }
        return stream
    }

    /// The most bytes a partition value takes in a key once percent-encoded: far below the 255-byte limit of a
    /// file name, and S3's 1,024-byte key limit leaves room for the rest of the key.
    public static let maxEncodedValueBytes = 100

    /// `value` itself when its percent-encoded form fits ``maxEncodedValueBytes``; otherwise a stable, readable
    /// stand-in: the longest prefix (whole characters) whose encoded form leaves room, `~`, and the first 16 hex
    /// digits of the value's SHA-256 (`account%E2%80%A6~3f2a…`). Percent-encoding triples multibyte characters,
    /// so a 247-byte stream name or 28 CJK characters would otherwise make every flush fail with "File name too
    /// long". The records keep the full stream name; only the directory name is bounded.
    public static func boundedValue(_ value: String) -> String {
        if LodeLayout.escapePartitionValue(value).utf8.count <= maxEncodedValueBytes { return value }
        let digest = SHA256.hash(data: Array(value.utf8)).prefix(8).map { byte in
            let hex = String(byte, radix: 16)
            return byte < 16 ? "0" + hex : hex
        }.joined()
        let room = maxEncodedValueBytes - 1 - digest.utf8.count
        var prefix = ""
        var used = 0
        for character in value {
            let encoded = LodeLayout.escapePartitionValue(String(character)).utf8.count
            if used + encoded > room { break }
            prefix.append(character)
            used += encoded
        }
        return prefix + "~" + digest
    }

    /// True when a partition value read back from a key (percent-decoded) is the one `value` is stored under:
    /// the value itself (archives written before values were bounded, and short values) or its bounded form.
    public static func partitionValue(_ stored: String, names value: String) -> Bool {
        stored == value || stored == boundedValue(value)
    }
}
