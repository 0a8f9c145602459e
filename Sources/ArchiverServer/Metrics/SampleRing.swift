import Foundation
import Synchronization

/// The last few hours of the console's samples, in memory: a fixed number of slots, the oldest overwritten.
/// Nothing is persisted; a restarted server starts an empty chart.
final class SampleRing: Sendable {
    /// One reading of the cheap figures (the same ones `/ready` reads).
    struct Sample: Sendable, Hashable {
        var time: Date
        /// Flush cursor plus unflushed events: the committed head.
        var headPosition: Int64
        var unflushedEvents: Int64
        var lagSeconds: Double
        /// Stored bytes of the archive's current chain (from manifests).
        var archiveBytes: Int64
    }

    let capacity: Int
    private let state: Mutex<(slots: [Sample], next: Int)>

    /// 960 slots of 15 seconds: four hours.
    init(capacity: Int = 960) {
        precondition(capacity > 0)
        self.capacity = capacity
        state = Mutex(([], 0))
    }

    func append(_ sample: Sample) {
        state.withLock { state in
            if state.slots.count < capacity {
                state.slots.append(sample)
            } else {
                state.slots[state.next] = sample
            }
            state.next = (state.next + 1) % capacity
        }
    }

    /// Every sample held, oldest first.
    var samples: [Sample] {
        state.withLock { state in
            state.slots.count < capacity
                ? state.slots : Array(state.slots[state.next...] + state.slots[..<state.next])
        }
    }
}
