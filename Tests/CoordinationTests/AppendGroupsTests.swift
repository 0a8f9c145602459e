import Coordination
import Foundation
import TestSupport
import Testing

/// ``AppendGroups`` on its own, with a commit that only counts: the turn-taking must answer every call exactly
/// once, whatever order the store's executor runs the hops in.
@Suite struct AppendGroupsTests {
    /// A store-like actor on a ``StoreThreadExecutor`` (hops through it are queued, so calls interleave at every
    /// await), whose commit suspends like a database round trip.
    actor Committer {
        private let executor = StoreThreadExecutor(name: "append-groups-test")
        nonisolated var unownedExecutor: UnownedSerialExecutor { executor.asUnownedSerialExecutor() }
        private let groups: AppendGroups
        private var nextPosition: Int64 = 0
        private(set) var groupSizes: [Int] = []
        var state: String { groups.description }

        init(_ options: GroupCommit) {
            groups = AppendGroups(options)
        }

        deinit { executor.shutdown() }

        func append(_ stream: String) async throws -> AppendResult {
            let call = try AppendCall(
                [AppendRequest(stream: stream, events: [ProposedEvent(type: "T", data: "{}")])], idempotencyKey: nil,
                limits: AppendLimits())
            return try await groups.submit(call) { group in
                await Task.yield()
                groupSizes.append(group.count)
                return group.map { call in
                    nextPosition += 1
                    return .success([
                        AppendResult(
                            stream: call.requests[0].stream, firstVersion: 1, lastVersion: 1,
                            firstPosition: nextPosition, lastPosition: nextPosition,
                            eventIDs: call.validated[0].compactMap(\.id), replayed: false)
                    ])
                }
            }[0]
        }
    }

    /// 300 bursts of 8 concurrent appends, each burst awaited before the next: every call is answered (a call
    /// queued after its leader found the queue empty would wait for a later call to lead, and the last call of a
    /// burst has none), each with its own result, and no group is larger than `maxCalls`.
    @Test(arguments: [
        GroupCommit(maxCalls: 32), GroupCommit(maxCalls: 3), GroupCommit(maxCalls: 8, maxWaitSeconds: 0.001),
    ])
    func everyConcurrentCallIsAnsweredOnce(options: GroupCommit) async throws {
        let committer = Committer(options)
        let (bursts, width) = (300, 8)
        let progress = CompletionCounter()
        let answered = try await withoutStalling(progress, total: bursts * width, state: { await committer.state }) {
            var all: [Int64] = []
            for burst in 0..<bursts {
                all += try await withThrowingTaskGroup(of: Int64.self) { group in
                    for call in 0..<width {
                        group.addTask {
                            let position = try await committer.append("s-\(burst)-\(call)").lastPosition
                            progress.advance()
                            return position
                        }
                    }
                    return try await group.reduce(into: []) { $0.append($1) }
                }
            }
            return all
        }
        #expect(answered.count == bursts * width)
        #expect(Set(answered).count == answered.count, "two calls got the same result")
        let sizes = await committer.groupSizes
        #expect(sizes.reduce(0, +) == bursts * width)
        #expect(sizes.allSatisfy { $0 <= options.maxCalls })
    }
}
