import Foundation

/// A serial executor on a dedicated thread, for a store actor whose database calls block (`sqlite3_step` and
/// its fsync, libpq's round trips): they stay off Swift's cooperative thread pool. Each store owns one.
///
/// It is also a task executor: a task that prefers it runs its nonisolated code on the same thread, so its
/// calls into the actor and their returns need no thread to be woken. Every job runs isolated to the actor's
/// serial executor and on this task executor; jobs of both kinds run one at a time on the one thread.
public final class StoreThreadExecutor: SerialExecutor, TaskExecutor, @unchecked Sendable {
    private let condition = NSCondition()
    private var jobs: [UnownedJob] = []
    private var stopped = false

    public init(name: String) {
        // The thread keeps the executor alive until its loop ends (after `shutdown()`): an unowned reference
        // would be read after the owner's deinit freed the executor.
        // Named from inside: on Linux a name set before `start()` never reaches the thread (`top -H`, debuggers).
        Thread {
            Thread.current.name = name
            self.runLoop()
        }.start()
    }

    public func enqueue(_ job: consuming ExecutorJob) {
        let unowned = UnownedJob(job)
        condition.lock()
        jobs.append(unowned)
        condition.signal()
        condition.unlock()
    }

    public func asUnownedSerialExecutor() -> UnownedSerialExecutor { UnownedSerialExecutor(ordinary: self) }

    public func asUnownedTaskExecutor() -> UnownedTaskExecutor { UnownedTaskExecutor(ordinary: self) }

    /// Lets the thread end once the queued jobs have run (called when the owning actor is deinitialised,
    /// so no job can arrive any more).
    public func shutdown() {
        condition.lock()
        stopped = true
        condition.signal()
        condition.unlock()
    }

    private func runLoop() {
        while true {
            condition.lock()
            while jobs.isEmpty && !stopped { condition.wait() }
            if jobs.isEmpty && stopped {
                condition.unlock()
                return
            }
            let batch = jobs
            jobs.removeAll(keepingCapacity: true)
            condition.unlock()
            for job in batch {
                job.runSynchronously(isolatedTo: asUnownedSerialExecutor(), taskExecutor: asUnownedTaskExecutor())
            }
        }
    }
}
