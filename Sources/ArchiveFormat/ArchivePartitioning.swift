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

    /// The partition values of one event, in ``keys`` order (not yet percent-encoded).
    public func values(stream: String, recordedAtNanos: Int64) -> [String] {
        switch self {
        case .categoryDay: [Self.category(of: stream), ArchiveTime.day(ofNanos: recordedAtNanos)]
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
}
