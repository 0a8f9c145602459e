import Synchronization

/// The append calls of one store actor that wait for a commit, and the turn-taking that gathers them.
///
/// The first call to arrive leads: it lets the calls already queued on the actor run (a `Task.yield`, or
/// the configured wait), takes up to `maxCalls` of them into one group, commits it through the backend, and
/// answers each call with its own result. Calls that queued meanwhile wait; when the leader is done the
/// first of them leads the next group.
///
/// The queue and the lead live under one lock, and every decision about them (queue or lead; who leads
/// next, or nobody) is made in one critical section, so no call can be queued without a leader to answer it.
/// The lock makes that hold whatever thread each step runs on; the store's actor still orders the commits.
public final class AppendGroups: Sendable, CustomStringConvertible {
    /// What a waiting call is resumed with: its answer, or the turn to lead the next group.
    private enum Turn {
        case answered(Result<[AppendResult], any Error>)
        case lead
    }

    private struct Waiting {
        let call: AppendCall
        let continuation: CheckedContinuation<Turn, Never>
    }

    private struct Queue {
        var waiting: [Waiting] = []
        var leaderActive = false
    }

    private let options: GroupCommit
    private let queue = Mutex(Queue())

    public init(_ options: GroupCommit) {
        self.options = options
    }

    /// Whether a group is being led, and how many calls wait (for logs and test failures).
    public var description: String {
        queue.withLock { "AppendGroups(\($0.leaderActive ? "leading" : "idle"), \($0.waiting.count) waiting)" }
    }

    /// Commits `call` in a group with the calls queued beside it.
    /// - Parameters:
    ///   - commit: commits a group in one transaction and returns one result per call, in order; a failed
    ///     call must not fail the others.
    /// - Returns: `call`'s results, once the commit that holds them is durable.
    public func submit(
        _ call: AppendCall, isolation: isolated (any Actor) = #isolation,
        commit: ([AppendCall]) async -> [Result<[AppendResult], any Error>]
    ) async throws -> [AppendResult] {
        let turn = await withCheckedContinuation(isolation: isolation) {
            (continuation: CheckedContinuation<Turn, Never>) in
            let leads = queue.withLock { queue in
                if queue.leaderActive {
                    queue.waiting.append(Waiting(call: call, continuation: continuation))
                    return false
                }
                queue.leaderActive = true
                return true
            }
            if leads { continuation.resume(returning: .lead) }
        }
        if case .answered(let result) = turn { return try result.get() }
        return try await lead(call, commit: commit).get()
    }

    /// Gathers the queued calls behind `call`, commits them with it, answers them, and hands the lead on.
    private func lead(
        _ call: AppendCall, isolation: isolated (any Actor) = #isolation,
        commit: ([AppendCall]) async -> [Result<[AppendResult], any Error>]
    ) async -> Result<[AppendResult], any Error> {
        if options.maxCalls > 1 {
            let queued = queue.withLock { $0.waiting.count }
            if options.maxWaitSeconds > 0 && queued + 1 < options.maxCalls {
                try? await Task.sleep(for: .milliseconds(Int64(options.maxWaitSeconds * 1000)))
            } else {
                // Lets the calls already queued on the actor's executor run first and join the group.
                await Task.yield()
            }
        }
        let joined = queue.withLock { queue in
            let joined = Array(queue.waiting.prefix(options.maxCalls - 1))
            queue.waiting.removeFirst(joined.count)
            return joined
        }
        let group = [call] + joined.map(\.call)
        var results = await commit(group)
        if results.count != group.count {
            let error = CoordinationError(
                .queryFailed, "a group commit answered \(results.count) of \(group.count) calls")
            results = group.map { _ in .failure(error) }
        }
        for (member, result) in zip(joined, results.dropFirst()) {
            member.continuation.resume(returning: .answered(result))
        }
        let next = queue.withLock { queue -> Waiting? in
            if queue.waiting.isEmpty {
                queue.leaderActive = false
                return nil
            }
            return queue.waiting.removeFirst()
        }
        next?.continuation.resume(returning: .lead)
        return results[0]
    }
}
