import Coordination
import Synchronization

/// A bounded LRU cache for cold reads of three kinds of entries, under one cap on the bytes they take:
/// - open snapshots (``SnapshotIndex``): their verified stored bytes, frame tables and stream index, of any size
///   up to the cap;
/// - decompressed frames of them, which stream reads come back to;
/// - the decoded events of a snapshot that cannot be indexed (``SnapshotIndex/build(_:archive:)`` returns nil),
///   kept only up to a quarter of the cap (``admits(estimatedBytes:)``): a cold reader streams a larger one, so
///   one big run cannot flush every other entry out.
///
/// Data is kept as the archive holds it (encrypted data stays sealed: keys can be destroyed after the entry was
/// made). The least recently used entries go first.
public final class SnapshotEventCache: Sendable {
    enum Value {
        case events([RecordedEvent])
        case index(SnapshotIndex)
        case frame(ChunkStorage)
    }

    struct Entry {
        var value: Value
        var bytes: Int64
        var lastUse: UInt64
    }

    struct State {
        var entries: [String: Entry] = [:]
        var bytes: Int64 = 0
        var clock: UInt64 = 0
    }

    /// The most bytes the cached events may take together.
    public let capacityBytes: Int64
    private let state = Mutex(State())

    public init(capacityBytes: Int64) {
        self.capacityBytes = max(0, capacityBytes)
    }

    /// Bytes held now.
    public var bytes: Int64 { state.withLock { $0.bytes } }

    /// Entries held now.
    public var count: Int { state.withLock { $0.entries.count } }

    /// Whether decoded events of this size may be kept at all.
    public func admits(estimatedBytes: Int64) -> Bool {
        estimatedBytes <= capacityBytes / 4
    }

    /// The events cached under `key`, marking them as just used.
    func events(_ key: String) -> [RecordedEvent]? {
        guard case .events(let events) = value(key) else { return nil }
        return events
    }

    /// The open snapshot cached under `key`, marking it as just used.
    func index(_ key: String) -> SnapshotIndex? {
        guard case .index(let index) = value(key) else { return nil }
        return index
    }

    /// The decompressed frame cached under `key`, marking it as just used.
    func frame(_ key: String) -> ChunkStorage? {
        guard case .frame(let storage) = value(key) else { return nil }
        return storage
    }

    private func value(_ key: String) -> Value? {
        state.withLock { state in
            guard var entry = state.entries[key] else { return nil }
            state.clock += 1
            entry.lastUse = state.clock
            state.entries[key] = entry
            return entry.value
        }
    }

    /// Keeps `events` under `key` when they take at most a quarter of the cap.
    func insert(_ key: String, _ events: [RecordedEvent]) {
        let size = Self.estimatedBytes(events)
        guard admits(estimatedBytes: size) else { return }
        insert(key, .events(events), bytes: size)
    }

    /// Keeps an open snapshot (when it fits under the cap).
    func insert(_ key: String, _ index: SnapshotIndex) {
        insert(key, .index(index), bytes: index.bytes)
    }

    /// Keeps a decompressed frame.
    func insert(_ key: String, _ frame: ChunkStorage) {
        insert(key, .frame(frame), bytes: Int64(frame.count) + 64)
    }

    /// Keeps `value` under `key`, evicting the least recently used entries to stay under the cap.
    private func insert(_ key: String, _ value: Value, bytes size: Int64) {
        guard size <= capacityBytes else { return }
        state.withLock { state in
            if let old = state.entries.removeValue(forKey: key) { state.bytes -= old.bytes }
            // Few entries (snapshots and frames of MBs under a cap of hundreds of MB): a linear scan is fine.
            while state.bytes + size > capacityBytes,
                let oldest = state.entries.min(by: { $0.value.lastUse < $1.value.lastUse })
            {
                state.entries.removeValue(forKey: oldest.key)
                state.bytes -= oldest.value.bytes
            }
            state.clock += 1
            state.entries[key] = Entry(value: value, bytes: size, lastUse: state.clock)
            state.bytes += size
        }
    }

    /// The memory `events` take: their text plus a fixed overhead per event (the strings' and the struct's).
    static func estimatedBytes(_ events: [RecordedEvent]) -> Int64 {
        events.reduce(Int64(0)) { total, e in
            total + 160
                + Int64(e.stream.utf8.count + e.id.utf8.count + e.type.utf8.count + e.data.utf8.count)
                + Int64(e.metadata.utf8.count)
        }
    }
}
