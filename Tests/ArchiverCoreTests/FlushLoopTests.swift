import ArchiverCore
import Coordination
import CoordinationSQLite
import Foundation
import Synchronization
import Testing

@Suite struct FlushLoopTests {
    /// Polls `condition` every 20 ms for up to `seconds` (generous: a full parallel run on 2 cores is slow).
    func eventually(_ seconds: Double = 60, _ condition: () async throws -> Bool) async throws -> Bool {
        let deadline = ContinuousClock.now + .milliseconds(Int64(seconds * 1_000))
        while ContinuousClock.now < deadline {
            if try await condition() { return true }
            try await Task.sleep(for: .milliseconds(20))
        }
        return false
    }

    /// `flush --watch`: a pass at once, then one as soon as `minEvents` events are unflushed (long before
    /// `atMost`), none while fewer are; cancelling ends the loop (at the latest after `atMost`).
    @Test func passesRunWhenEnoughEventsArrive() async throws {
        try await TestArchive.with(bytesPerSnapshot: 1 << 20) { test in
            try await test.append(3)
            let flushed = Atomic<Int>(0)
            let passes = Atomic<Int>(0)
            let loop = FlushLoop(store: test.coordination, schedule: .whenEventsArrive(minEvents: 5, atMost: 3))
            let archive = test
            let task = Task {
                try await loop.run {
                    let summary = try await archive.flush(checkpointEvery: 0)
                    flushed.add(Int(summary.events), ordering: .relaxed)
                    passes.add(1, ordering: .relaxed)
                }
            }
            #expect(try await eventually { flushed.load(ordering: .relaxed) == 3 })
            try await test.append(4, from: 3)
            try await Task.sleep(for: .milliseconds(700))
            #expect(passes.load(ordering: .relaxed) == 1, "4 events are fewer than --min-events 5")
            try await test.append(1, from: 7)
            #expect(try await eventually { flushed.load(ordering: .relaxed) == 8 })
            #expect(passes.load(ordering: .relaxed) == 2)
            task.cancel()
            try await task.value
        }
    }

    /// A pass's error stops the loop unless the failure handler swallows it; the sidecar's schedule waits
    /// before its first pass and stops when `sleep` says so.
    @Test func failuresAndTheIntervalSchedule() async throws {
        try await TestArchive.with { test in
            struct Boom: Error {}
            let events = FlushLoop(store: test.coordination, schedule: .whenEventsArrive(minEvents: 1, atMost: 0.05))
            await #expect(throws: Boom.self) { try await events.run { throw Boom() } }

            let every = FlushLoop(store: test.coordination, schedule: .every(seconds: 0.01))
            var sleeps: [Double] = []
            var passes = 0
            var failures = 0
            try await every.run(
                sleep: { seconds in
                    sleeps.append(seconds)
                    return sleeps.count <= 3
                },
                failure: { _ in failures += 1 },
                pass: {
                    passes += 1
                    throw Boom()
                })
            #expect(sleeps == [0.01, 0.01, 0.01, 0.01])
            #expect(passes == 3 && failures == 3)
        }
    }
}
