/// The append calls of one store actor that wait for a commit, and the turn-taking that gathers them.
///
/// The first call to arrive leads: it lets the calls already queued on the actor run (a `Task.yield`, or
/// the configured wait), takes up to `maxCalls` of them into one group, commits it through the backend, and
/// answers each call with its own result. Calls that queued meanwhile wait; when the leader is done the
/// first of them leads the next group. Nothing sleeps on the store's thread. Every change to the queue and to
/// the lead happens without a suspension in between, so no call is left waiting without a leader.
///
/// Owned by the actor and used only in its isolation (it is not `Sendable`).
public final class AppendGroups {
    /// What a waiting call is resumed with: its answer, or the turn to lead the next group.
    private enum Turn {
        case answered(Result<[AppendResult], any Error>)
        case lead
    }

    private struct Waiting {
        let call: AppendCall
        let continuation: CheckedContinuation<Turn, Never>
    }

    private let options: GroupCommit
    private var waiting: [Waiting] = []
    private var leaderActive = false

    public init(_ options: GroupCommit) {
        self.options = options
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
        // Deciding and queueing happen in one step inside the continuation's body: entering an isolated call
        // may suspend (a hop through the store's executor queue), so a check made before it could be stale by
        // the time the call is queued, and a call queued after the leader found the queue empty would never
        // be answered.
        let turn = await withCheckedContinuation(isolation: isolation) {
            (continuation: CheckedContinuation<Turn, Never>) in
            if leaderActive {
                waiting.append(Waiting(call: call, continuation: continuation))
            } else {
                leaderActive = true
                continuation.resume(returning: .lead)
            }
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
            if options.maxWaitSeconds > 0 && waiting.count + 1 < options.maxCalls {
                try? await Task.sleep(for: .milliseconds(Int64(options.maxWaitSeconds * 1000)))
            } else {
                // Lets the calls already queued on the actor's executor run first and join the group.
                await Task.yield()
            }
        }
        let joined = Array(waiting.prefix(options.maxCalls - 1))
        waiting.removeFirst(joined.count)
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
        if waiting.isEmpty {
            leaderActive = false
        } else {
            waiting.removeFirst().continuation.resume(returning: .lead)
        }
        return results[0]
    }
}
