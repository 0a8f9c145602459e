import Coordination
import Foundation
import Testing

/// Leases, the flush ledger, checkpoints, prune, restore and waiting: the same rules on every backend.
extension StoreContractTests {
    @Test(arguments: Backend.available)
    func leasesAreFencedAndTakeoversIncrementTheToken(backend: Backend) async throws {
        try await withBackend(backend) { store, _ in
            let a = try #require(try await store.acquireLease("flusher", holder: "a", ttlSeconds: 60))
            #expect(a.fencingToken == 1)
            #expect(try await store.acquireLease("flusher", holder: "b", ttlSeconds: 60) == nil)
            let renewed = try #require(try await store.acquireLease("flusher", holder: "a", ttlSeconds: 60))
            #expect(renewed.fencingToken == a.fencingToken)
            #expect(try await store.takeOverLease("flusher", from: "x", holder: "b", ttlSeconds: 60) == nil)
            let b = try #require(try await store.takeOverLease("flusher", from: "a", holder: "b", ttlSeconds: 60))
            #expect(b.fencingToken == a.fencingToken + 1)
            #expect(try await store.currentLease("flusher")?.holder == "b")
            // The stale holder can neither record nor complete a flush.
            let stale = intent("1", 1...1, token: a.fencingToken)
            #expect(await coordinationErrorCode { try await store.recordFlushIntent(stale) } == .fenced)
            let fresh = intent("1", 1...1, token: b.fencingToken)
            try await store.recordFlushIntent(fresh)
            #expect(await coordinationErrorCode { try await store.recordFlushIntent(fresh) } == .intentExists)
            #expect(await coordinationErrorCode { try await store.completeFlush(stale) } == .fenced)
            try await store.completeFlush(fresh)
            #expect(try await store.flushCursor().position == 1)
            #expect(try await store.pendingFlushIntent() == nil)
            try await store.releaseLease("flusher", holder: "b")
            let c = try #require(try await store.acquireLease("flusher", holder: "c", ttlSeconds: 60))
            #expect(c.fencingToken == b.fencingToken + 1)
        }
    }

    @Test(arguments: Backend.available)
    func concurrentFirstAcquirersGetOneLease(backend: Backend) async throws {
        try await withBackend(backend) { _, fixture in
            let winners = try await withThrowingTaskGroup(of: Lease?.self) { group in
                for holder in 0..<16 {
                    group.addTask {
                        let store = try await fixture.open()
                        let lease = try await store.acquireLease("flusher", holder: "h\(holder)", ttlSeconds: 60)
                        await store.close()
                        return lease
                    }
                }
                return try await group.reduce(into: [Lease]()) { if let lease = $1 { $0.append(lease) } }
            }
            #expect(winners.count == 1 && winners.first?.fencingToken == 1)
        }
    }

    @Test(arguments: Backend.available)
    func checkpointsAreKeptPerConsumer(backend: Backend) async throws {
        try await withBackend(backend) { store, fixture in
            try await store.setCheckpoint("reports", position: 7)
            try await store.setCheckpoint("billing", position: 3)
            try await store.setCheckpoint("reports", position: 9)
            let other = try await fixture.open()
            #expect(
                try await other.checkpoints() == [
                    ConsumerCheckpoint(name: "billing", position: 3), ConsumerCheckpoint(name: "reports", position: 9),
                ])
            await other.close()
        }
    }

    @Test(arguments: Backend.available)
    func pruneRespectsTheCursorAndCheckpointsAndKeepsHeads(backend: Backend) async throws {
        try await withBackend(backend) { store, _ in
            _ = try await store.append(AppendRequest(stream: "p-1", events: (0..<10).map { _ in event() }))
            #expect(await coordinationErrorCode { _ = try await store.pruneEvents(upTo: 5) } == .invalidInput)
            let lease = try #require(try await store.acquireLease("flusher", holder: "f", ttlSeconds: 60))
            let first = intent("1", 1...6, token: lease.fencingToken)
            try await store.recordFlushIntent(first)
            try await store.completeFlush(first)
            try await store.setCheckpoint("projector", position: 4)
            do {
                _ = try await store.pruneEvents(upTo: 6)
                Issue.record("pruned past a subscriber checkpoint")
            } catch let error as CoordinationError {
                #expect(error.message == "cannot prune up to position 6: subscriber 'projector' is still at 4")
            }
            try await store.setCheckpoint("projector", position: 8)
            #expect(try await store.pruneEvents(upTo: 6) == 6)
            #expect(try await store.prunedThrough() == 6)
            // Heads and expectations keep working; a pruned range says where to read it.
            _ = try await store.append(AppendRequest(stream: "p-1", expected: .exact(10), events: [event()]))
            do {
                let read = try await store.readStream("p-1", fromVersion: 1, limit: 5)
                Issue.record("a pruned stream range was read: \(read.map(\.version))")
            } catch let error as CoordinationError {
                #expect(error.code == .prunedRange && error.message.contains("archiver replay"))
            }
            #expect(try await store.readStream("p-1", fromVersion: 7, limit: 10).map(\.version) == [7, 8, 9, 10, 11])
            #expect(await coordinationErrorCode { _ = try await store.readAll(after: 0, limit: 5) } == .prunedRange)
            #expect(try await store.readAll(after: 6, limit: 10).map(\.position) == [7, 8, 9, 10, 11])
            // Every event pruned: positions still continue after the last one handed out.
            let rest = intent("2", 7...11, token: lease.fencingToken)
            try await store.recordFlushIntent(rest)
            try await store.completeFlush(rest)
            try await store.setCheckpoint("projector", position: 11)
            #expect(try await store.flushLag() == FlushLag(flushCursor: 11, unflushedCount: 0, prunedThrough: 6))
            #expect(try await store.pruneEvents(upTo: 11) == 5)
            #expect(try await store.status().eventCount == 0)
            #expect(try await store.append(AppendRequest(stream: "p-2", events: [event()])).firstPosition == 12)
        }
    }

    @Test(arguments: Backend.available)
    func restoreKeepsPositionsAndMovesTheHead(backend: Backend) async throws {
        try await withBackend(backend) { store, _ in
            _ = try await store.append(
                AppendRequest(stream: "r-1", events: [event(), event("X", #"{"b":1,  "a":2}"#)]))
            var shifted = try await store.readAll(after: 0, limit: 10)
            for index in shifted.indices { shifted[index].position += 40 }
            let target = try BackendFixture(backend)
            defer { target.remove() }
            let restored = try await target.open()
            try await restored.restoreEvents(shifted)
            try await restored.restoreFlushCursor(
                FlushCursor(position: 42, chainHead: "abc", snapshotID: "s9", archivedCount: 2))
            #expect(try await restored.readAll(after: 0, limit: 10) == shifted)
            #expect(try await restored.streamHead("r-1") == StreamHead(stream: "r-1", version: 2, lastPosition: 42))
            let next = try await restored.append(AppendRequest(stream: "r-1", expected: .exact(2), events: [event()]))
            #expect(next.firstPosition == 43 && next.firstVersion == 3)
            #expect(try await restored.flushCursor().snapshotID == "s9")
            #expect(await coordinationErrorCode { try await restored.restoreEvents(shifted) } == .invalidInput)
            #expect(try await restored.status().eventCount == 3)
            await restored.close()
        }
    }

    /// Liveness checks, not timing ones: without a wake-up each wait would last its full 300 s.
    @Test(arguments: Backend.available)
    func waitForEventsWakesOnAppendsThroughThisAndOtherInstances(backend: Backend) async throws {
        try await withBackend(backend) { store, fixture in
            let quiet = ContinuousClock.now
            try await store.waitForEvents(after: 0, timeoutSeconds: 0.2)
            #expect(ContinuousClock.now - quiet >= .milliseconds(150), "nothing above 0: the wait times out")
            let started = ContinuousClock.now
            async let mine: Void = store.waitForEvents(after: 0, timeoutSeconds: 300)
            try await Task.sleep(for: .milliseconds(50))
            _ = try await store.append(AppendRequest(stream: "w-1", events: [event()]))
            try await mine
            let other = try await fixture.open()
            async let theirs: Void = store.waitForEvents(after: 1, timeoutSeconds: 300)
            try await Task.sleep(for: .milliseconds(50))
            _ = try await other.append(AppendRequest(stream: "w-1", events: [event()]))
            try await theirs
            #expect(ContinuousClock.now - started < .seconds(120))
            await other.close()
        }
    }
}

/// A flush intent over `positions`, fenced with `token`.
func intent(_ snapshot: String, _ positions: ClosedRange<Int64>, token: Int64) -> FlushIntent {
    FlushIntent(
        snapshotID: snapshot, firstPosition: positions.lowerBound, lastPosition: positions.upperBound,
        eventCount: Int64(positions.count), chainStart: "", chainHead: "", parentSnapshotID: "", cutName: nil,
        fencingToken: token)
}
