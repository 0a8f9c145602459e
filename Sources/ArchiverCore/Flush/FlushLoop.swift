public import Coordination

/// The one loop that keeps flushing: `archiver flush --watch` and the sidecar's schedule both run their passes
/// through it, so when a pass runs, what a failure does and when the loop stops are decided here.
///
/// ```swift
/// let loop = FlushLoop(store: store, schedule: .whenEventsArrive(minEvents: 1, atMost: 5))
/// try await loop.run { _ = try await flusher.run() }
/// ```
public struct FlushLoop: Sendable {
    public enum Schedule: Sendable, Hashable {
        /// A pass as soon as `minEvents` events are unflushed, and at least every `atMost` seconds; the first
        /// pass at once (`flush --watch`).
        case whenEventsArrive(minEvents: Int64, atMost: Double)
        /// A pass every `seconds`, the first after one wait (`serve`'s flush-interval).
        case every(seconds: Double)
    }

    public let store: any CoordinationStore
    public let schedule: Schedule

    public init(store: any CoordinationStore, schedule: Schedule) {
        self.store = store
        self.schedule = schedule
    }

    /// Runs `pass` until the task is cancelled or `sleep` reports a stop.
    /// - Parameters:
    ///   - sleep: waits the given seconds; false to stop the loop (the sidecar ends it on graceful shutdown).
    ///     The default sleeps, stopping on cancellation.
    ///   - failure: called with a pass's error; rethrow to stop the loop. The default rethrows.
    ///   - pass: one flush pass.
    public func run(
        sleep: (Double) async -> Bool = FlushLoop.sleep,
        failure: (any Error) async throws -> Void = { throw $0 },
        pass: () async throws -> Void
    ) async throws {
        if case .every(let seconds) = schedule, !(await sleep(seconds)) { return }
        while !Task.isCancelled {
            do {
                try await pass()
            } catch {
                try await failure(error)
            }
            guard try await waitForWork(sleep: sleep) else { return }
        }
    }

    /// Waits before the next pass; false when the loop should stop.
    func waitForWork(sleep: (Double) async -> Bool) async throws -> Bool {
        switch schedule {
        case .every(let seconds):
            return await sleep(seconds)
        case .whenEventsArrive(let minEvents, let atMost):
            // The events above the cursor (an index range), not the store's status, which counts whole tables
            // on every pass. Not positions either: a rolled-back append leaves a gap above the cursor that no
            // flush closes, and the loop would never wait.
            let lag = try await store.flushLag()
            if lag.unflushedCount < minEvents {
                try await store.waitForEvents(after: lag.flushCursor + max(0, minEvents - 1), timeoutSeconds: atMost)
            }
            return !Task.isCancelled
        }
    }

    /// Sleeps `seconds`; false when the task is cancelled.
    public static func sleep(_ seconds: Double) async -> Bool {
        do {
            try await Task.sleep(for: .milliseconds(Int64(seconds * 1_000)))
            return true
        } catch {
            return false
        }
    }
}
