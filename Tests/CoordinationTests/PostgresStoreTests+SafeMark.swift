import Coordination
import Foundation
import Testing

@testable import CoordinationPostgres

extension PostgresStoreTests {
    /// A write transaction open elsewhere on the server holds back every snapshot's xmin, in every schema and
    /// database; it must not hold back a head whose positions are all committed (the gap-free check), or one
    /// long batch job next to the store would stop archiving. Above a gap (a rolled-back append) the mark
    /// falls back to transaction ids and waits for that transaction like any other; the run below the gap is
    /// still safe.
    @Test func aTransactionOpenElsewhereDoesNotHoldBackAGapFreeHead() async throws {
        try await withPostgres { fixture in
            let store = try await fixture.open(waitSeconds: 0.3)
            let elsewhere = try fixture.rawConnection()
            try elsewhere.execute("SET idle_in_transaction_session_timeout = '60s'")
            try elsewhere.execute("BEGIN")
            try elsewhere.query("SELECT pg_current_xact_id()")
            for n in 1...3 { _ = try await store.append(AppendRequest(stream: "g-\(n)", events: [event()])) }
            #expect(try await store.safeHighWaterMark() == 3)
            #expect(try await store.readAll(after: 0, limit: 10).map(\.position) == [1, 2, 3])

            try fixture.rollBackAnAppend(on: try fixture.rawConnection())
            #expect(try await store.append(AppendRequest(stream: "g-1", events: [event()])).lastPosition == 5)
            #expect(try await store.safeHighWaterMark() == 3, "position 4 is a gap; the open transaction holds 5 back")
            // A store opened afresh (no safe mark remembered) finds the committed run below the gap.
            let fresh = try await fixture.open(waitSeconds: 0.3)
            #expect(try await fresh.safeHighWaterMark() == 3)
            await fresh.close()

            try elsewhere.execute("COMMIT")
            #expect(try await settledMark(store, atLeast: 5) == 5)
            #expect(try await store.readAll(after: 3, limit: 10).map(\.position) == [5])
            // Past the gap, a gap-free head is safe at once again.
            _ = try await store.append(AppendRequest(stream: "g-2", events: [event()]))
            #expect(try await store.safeHighWaterMark() == 6)
            await store.close()
        }
    }
}
