public import Synchronization

/// Counts what concurrent work has finished, for ``withoutStalling(_:total:stallSeconds:state:_:)``.
public final class CompletionCounter: Sendable {
    private let count = Atomic<Int>(0)

    public init() {}

    public func advance() { count.add(1, ordering: .relaxed) }

    public var value: Int { count.load(ordering: .relaxed) }
}

/// The work stopped advancing: what was done, and the state `withoutStalling` was given to describe.
public struct Stalled: Error, CustomStringConvertible {
    public let done: Int
    public let total: Int
    public let seconds: Double
    public let state: String

    public var description: String {
        "nothing finished for \(seconds) s after \(done) of \(total) (\(state)): a wake-up was lost"
    }
}

/// Runs `body`, throwing ``Stalled`` instead of hanging when `progress` has not advanced for `stallSeconds`.
///
/// Work that waits for a wake-up which never comes would otherwise hang the whole test run, and a lost wake-up
/// ignores cancellation, so `body` runs in a task of its own that is abandoned then. Progress, not total time, is
/// bounded: on a loaded machine whose cooperative pool other tests keep busy the work runs slowly but still
/// advances, while a lost wake-up stops it for good.
/// - Parameter state: describes what the work waits on (read once, when it stalls).
public func withoutStalling<T: Sendable>(
    _ progress: CompletionCounter, total: Int, stallSeconds: Double = 60,
    state: @escaping @Sendable () async -> String = { "" },
    _ body: @escaping @Sendable () async throws -> T
) async throws -> T {
    let outcome = Mutex<Result<T, any Error>?>(nil)
    Task {
        let result: Result<T, any Error>
        do { result = .success(try await body()) } catch { result = .failure(error) }
        outcome.withLock { $0 = result }
    }
    var (seen, since) = (-1, ContinuousClock.now)
    while true {
        if let result = outcome.withLock({ $0 }) { return try result.get() }
        let now = progress.value
        if now != seen {
            (seen, since) = (now, ContinuousClock.now)
        } else if ContinuousClock.now - since > .seconds(stallSeconds) {
            throw Stalled(done: now, total: total, seconds: stallSeconds, state: await state())
        }
        try await Task.sleep(for: .milliseconds(20))
    }
}
