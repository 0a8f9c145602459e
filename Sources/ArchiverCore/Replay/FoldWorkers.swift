import Foundation

/// The parts of a fold split by stream (``StreamPartition``), each applying its events of a batch on a thread
/// of its own while the owner fills the next batch.
///
/// Dedicated threads rather than tasks: the owner blocks in ``wait()`` inside the reader's synchronous callback,
/// and a worker that needed the cooperative pool could wait for the very thread the owner holds.
final class FoldWorkers<Part: Projection & SendableMetatype>: @unchecked Sendable {
    // @unchecked: part `w` is touched by worker `w` while a batch runs and by the owner only between runs (after
    // ``wait()``); the semaphores order the two.

    private let crew: Crew

    /// Starts one thread per part.
    init(_ parts: [Part], failure: @escaping @Sendable (_ error: any Error, _ event: ReplayEvent) -> any Error) {
        crew = Crew(parts, failure: failure)
        for worker in parts.indices {
            let crew = crew
            let thread = Thread { crew.serve(worker) }
            thread.name = "fold-\(worker)"
            thread.start()
        }
    }

    deinit { crew.stop() }

    var count: Int { crew.count }

    /// Part `worker`; only between runs.
    subscript(worker: Int) -> Part {
        get { crew.slots[worker].part }
        _modify { yield &crew.slots[worker].part }
    }

    /// Starts applying `batch`; the previous batch must have been waited for.
    func start(_ batch: EventBatch) {
        crew.batch = batch
        for worker in 0..<crew.count { crew.go[worker].signal() }
    }

    /// Waits for the batch started last and returns it (empty) for reuse; nil when none runs.
    /// - Throws: the failure at the lowest position of the batch, wrapped by `failure`.
    func wait() throws -> EventBatch? {
        guard let batch = crew.batch else { return nil }
        for _ in 0..<crew.count { crew.done.wait() }
        crew.batch = nil
        batch.clear()
        var first: (position: Int64, error: any Error)?
        for worker in 0..<crew.count {
            guard let failure = crew.slots[worker].failure else { continue }
            if first == nil || failure.position < first!.position { first = failure }
        }
        if let first { throw first.error }
        return batch
    }

    /// What the threads share: the parts, the batch of the run, and the semaphores that hand it over.
    private final class Crew: @unchecked Sendable {
        struct Slot {
            var part: Part
            var failure: (position: Int64, error: any Error)?
        }

        let count: Int
        let slots: UnsafeMutablePointer<Slot>
        let go: [DispatchSemaphore]
        let done = DispatchSemaphore(value: 0)
        let failure: @Sendable (any Error, ReplayEvent) -> any Error
        var batch: EventBatch?
        private var stopping = false

        init(_ parts: [Part], failure: @escaping @Sendable (any Error, ReplayEvent) -> any Error) {
            count = parts.count
            slots = .allocate(capacity: parts.count)
            for (worker, part) in parts.enumerated() { (slots + worker).initialize(to: Slot(part: part)) }
            go = parts.map { _ in DispatchSemaphore(value: 0) }
            self.failure = failure
        }

        deinit {
            slots.deinitialize(count: count)
            slots.deallocate()
        }

        /// A worker's loop: applies its events of each batch until ``stop()``.
        func serve(_ worker: Int) {
            while true {
                go[worker].wait()
                if stopping { return }
                if slots[worker].failure == nil, let batch { apply(batch, worker) }
                done.signal()
            }
        }

        private func apply(_ batch: EventBatch, _ worker: Int) {
            // A worker stops at its first failure: the rest of a failed replay is not applied.
            try? batch.forEach(of: worker) { event in
                do {
                    try slots[worker].part.apply(event)
                } catch {
                    slots[worker].failure = (event.position, failure(error, event))
                    throw error
                }
            }
        }

        /// Ends the threads (after the last batch was waited for).
        func stop() {
            stopping = true
            for semaphore in go { semaphore.signal() }
        }
    }
}
