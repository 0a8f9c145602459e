import ArchiveFormat

/// One shard of a sharded replay: the streams whose ``StreamHash`` (FNV-1a 64 of the UTF-8 name) modulo
/// `count` equals `index` (0-based). Every stream is in exactly one of the `count` shards, so per-stream
/// projections of shards `0..<count` together equal one full replay.
///
/// ```swift
/// let shard = try ReplayShard(parsing: "2/8")   // the third of eight
/// shard.contains(stream: "account-42")
/// ```
public struct ReplayShard: Sendable, Hashable, CustomStringConvertible {
    public let index: Int
    public let count: Int

    /// - Throws: ``ArchiverError`` `.invalidArgument` unless `count >= 1` and `0 <= index < count`.
    public init(index: Int, count: Int) throws {
        guard count >= 1 else {
            throw ArchiverError(.invalidArgument, "a shard count must be at least 1, not \(count)")
        }
        guard index >= 0, index < count else {
            throw ArchiverError(
                .invalidArgument,
                "shard index \(index) is outside 0...\(count - 1): shards are numbered from 0 (e.g. "
                    + "JOB_COMPLETION_INDEX)")
        }
        self.index = index
        self.count = count
    }

    /// Parses `I/N`.
    public init(parsing text: String) throws {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 2, let index = Int(parts[0]), let count = Int(parts[1]) else {
            throw ArchiverError(
                .invalidArgument, "--shard '\(text)' is not I/N (0-based shard I of N shards, e.g. 0/4)")
        }
        try self.init(index: index, count: count)
    }

    public func contains(stream: String) -> Bool {
        count == 1 || Int(StreamHash.fnv1a64(stream) % UInt64(count)) == index
    }

    public var description: String { "\(index)/\(count)" }
}
