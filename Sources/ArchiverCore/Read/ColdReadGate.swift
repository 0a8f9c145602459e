/// Bounds how many cold reads run at once, so catch-up readers cannot take every core and starve appends.
/// Waiters are served in arrival order.
actor ColdReadGate {
    private let limit: Int
    private var running = 0
    private var waiters: [CheckedContinuation<Void, Never>] = []

    init(limit: Int) {
        self.limit = max(1, limit)
    }

    /// Runs `body` once fewer than `limit` other bodies run.
    nonisolated func run<T: Sendable>(_ body: () async throws -> T) async throws -> T {
        await enter()
        do {
            let result = try await body()
            await leave()
            return result
        } catch {
            await leave()
            throw error
        }
    }

    private func enter() async {
        // Checked and queued in one step, in the continuation's body: no leave() can slip in between.
        // The slot passes straight from the leaving reader to the first waiter (running stays the same).
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            if running < limit {
                running += 1
                continuation.resume()
            } else {
                waiters.append(continuation)
            }
        }
    }

    private func leave() {
        if waiters.isEmpty {
            running -= 1
        } else {
            waiters.removeFirst().resume()
        }
    }
}
