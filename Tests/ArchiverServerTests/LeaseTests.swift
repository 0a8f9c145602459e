import ArchiverCore
import ArchiverServer
import Coordination
import Foundation
import Hummingbird
import HummingbirdTesting
import Testing

/// Two replicas on one store: the one holding the flush lease flushes; the other is refused until the lease
/// is released or expires.
@Suite struct LeaseTests {
    @Test func onlyTheLeaseHolderFlushes() async throws {
        try await withAPI(configure: { $0.leaseTTL = 30 }, holder: "replica-a") { a, clientA in
            var configuration = a.configuration
            configuration.holder = "replica-b"
            let b = ArchiverAPI(
                store: a.store, archive: a.archive, configuration: configuration,
                flushOptions: FlushOptions(holder: "replica-b", producer: "test"))
            try await Application(router: b.router()).test(.router) { clientB in
                _ = try await clientA.append("s", #"{"type":"A","data":1}"#)
                #expect(try await clientA.post("/flush").status == .ok)
                #expect(try await a.store.currentLease(Flusher.leaseName)?.holder == "replica-a")

                _ = try await clientB.append("s", #"{"type":"B","data":2}"#)
                let refused = try await clientB.post("/flush")
                #expect(refused.status == .conflict)
                #expect(refused.object["error"] as? String == "lease-held")
                #expect(try await a.store.flushCursor().position == 1)
                let readyB = try await clientB.get("/ready").object
                #expect(readyB["flush_lease_held"] as? Bool == false)

                // A hands over (as at shutdown); B flushes what A left.
                await a.coordinator.releaseLease()
                let taken = try await clientB.post("/flush")
                #expect(taken.status == .ok && taken.object["events"] as? Int == 1)
                #expect(try await a.store.currentLease(Flusher.leaseName)?.holder == "replica-b")
                #expect(try await clientA.post("/flush").status == .conflict)
                #expect(try await a.store.flushCursor().position == 2)
            }
        }
    }
}
