import Synchronization

/// What the flush schedule's last pass at graceful shutdown did, so `serve` can say it in its log and exit status.
///
/// The last pass archives what appends committed since the previous scheduled pass; without it, events appended
/// within one flush interval before SIGTERM would stay in the hot store until some other flusher ran.
public final class FinalFlush: Sendable {
    public enum Outcome: Sendable, Equatable {
        /// No last pass ran: the flush schedule is off (`flush-interval: 0`) or the process stopped before it.
        case notRun
        /// The last pass archived `events` events (0: nothing was left).
        case completed(events: Int64)
        /// Another replica holds the flush lease; it archives what this one committed.
        case standby
        /// The shutdown deadline passed before the last pass finished; its intent is completed by the next flusher.
        case cutShort
        /// The last pass failed with this message.
        case failed(String)

        /// True when events may remain unarchived because of this process (`serve` then exits non-zero).
        public var leftEventsBehind: Bool {
            switch self {
            case .cutShort, .failed: true
            case .notRun, .completed, .standby: false
            }
        }
    }

    private let state = Mutex<Outcome>(.notRun)

    public init() {}

    public var outcome: Outcome { state.withLock { $0 } }

    func record(_ outcome: Outcome) { state.withLock { $0 = outcome } }
}
