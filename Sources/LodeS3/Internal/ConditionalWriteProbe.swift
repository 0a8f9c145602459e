import Synchronization

/// Remembers, per store, whether the server honours `If-None-Match: *`; concurrent first writers share one
/// check.
final class ConditionalWriteProbe: Sendable {
    private enum State {
        case unknown
        case running(Task<Bool, any Error>)
        case known(Bool)
    }
    private let state = Mutex<State>(.unknown)

    /// The cached answer, or the answer of `check` (run once even when called concurrently; a failed check is
    /// forgotten so the next write tries again).
    func supported(check: @escaping @Sendable () async throws -> Bool) async throws -> Bool {
        let task: Task<Bool, any Error> = state.withLock { state in
            switch state {
            case .known(let value):
                return Task { value }
            case .running(let task):
                return task
            case .unknown:
                let task = Task { try await check() }
                state = .running(task)
                return task
            }
        }
        do {
            let value = try await task.value
            state.withLock { $0 = .known(value) }
            return value
        } catch {
            state.withLock { state in
                if case .running = state { state = .unknown }
            }
            throw error
        }
    }
}
