import Coordination
import Synchronization

/// A bounded LRU cache of decoded snapshots for cold reads: the events of one snapshot (or of the files of it
/// that a stream read selects), as the archive holds them (encrypted data stays sealed: keys can be destroyed
/// after the entry was made).
///
/// The cap is on the estimated bytes of the decoded events; the least recently used entries go first. An entry
/// larger than a quarter of the cap is never kept (``admits(estimatedBytes:)``): a cold reader streams such a
/// snapshot instead, so one big compacted run cannot flush every small snapshot out.
public final class SnapshotEventCache: Sendable {
    struct Entry {
        var events: [RecordedEvent]
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

    /// Whether an entry of this size may be kept at all.
    public func admits(estimatedBytes: Int64) -> Bool {
        estimatedBytes <= capacityBytes / 4
    }

    /// The events cached under `key`, marking them as just used.
    func events(_ key: String) -> [RecordedEvent]? {
        state.withLock { state in
            guard var entry = state.entries[key] else { return nil }
            state.clock += 1
            entry.lastUse = state.clock
            state.entries[key] = entry
            return entry.events
        }
    }

    /// Keeps `events` under `key`, evicting the least recently used entries to stay under the cap.
    func insert(_ key: String, _ events: [RecordedEvent]) {
        let size = Self.estimatedBytes(events)
        guard admits(estimatedBytes: size) else { return }
        state.withLock { state in
            if let old = state.entries.removeValue(forKey: key) { state.bytes -= old.bytes }
            // Few entries (snapshots of MBs under a cap of hundreds of MB): a linear scan for the oldest is fine.
            while state.bytes + size > capacityBytes,
                let oldest = state.entries.min(by: { $0.value.lastUse < $1.value.lastUse })
            {
                state.entries.removeValue(forKey: oldest.key)
                state.bytes -= oldest.value.bytes
            }
            state.clock += 1
            state.entries[key] = Entry(events: events, bytes: size, lastUse: state.clock)
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
