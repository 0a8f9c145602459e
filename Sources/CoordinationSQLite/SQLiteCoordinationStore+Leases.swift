public import Coordination
import Foundation

// LeaseStore: fenced leases (flush, compaction).
extension SQLiteCoordinationStore {
    public func acquireLease(_ name: String, holder: String, ttlSeconds: Double) async throws -> Lease? {
        let db = try db()
        let now = Date().timeIntervalSince1970
        return try db.transaction {
            let lease = StoreRules.acquire(
                name, current: try leaseRow(name, db), holder: holder, now: now, ttlSeconds: ttlSeconds)
            if let lease { try writeLease(lease, db) }
            return lease
        }
    }

    public func takeOverLease(
        _ name: String, from previousHolder: String, holder: String, ttlSeconds: Double
    )
        async throws -> Lease?
    {
        let db = try db()
        let now = Date().timeIntervalSince1970
        return try db.transaction {
            let lease = StoreRules.takeOver(
                name, current: try leaseRow(name, db), from: previousHolder, holder: holder, now: now,
                ttlSeconds: ttlSeconds)
            if let lease { try writeLease(lease, db) }
            return lease
        }
    }

    public func releaseLease(_ name: String, holder: String) async throws {
        let db = try db()
        // The row stays so the fencing token keeps increasing across holders.
        try db.transaction {
            let update = try db.statement("UPDATE leases SET expires_at = 0 WHERE name = ? AND holder = ?")
            update.bind(1, name)
            update.bind(2, holder)
            try update.step()
        }
    }

    public func currentLease(_ name: String) async throws -> Lease? { try leaseRow(name, try db()) }

    private func leaseRow(_ name: String, _ db: SQLiteConnection) throws -> Lease? {
        let select = try db.statement("SELECT holder, fencing_token, expires_at FROM leases WHERE name = ?")
        defer { select.reset() }
        select.bind(1, name)
        guard try select.step() else { return nil }
        return Lease(name: name, holder: select.string(0), fencingToken: select.int64(1), expiresAt: select.double(2))
    }

    private func writeLease(_ lease: Lease, _ db: SQLiteConnection) throws {
        let upsert = try db.statement(
            "INSERT INTO leases (name, holder, fencing_token, expires_at) VALUES (?, ?, ?, ?) ON CONFLICT (name) "
                + "DO UPDATE SET holder = excluded.holder, fencing_token = excluded.fencing_token, "
                + "expires_at = excluded.expires_at")
        upsert.bind(1, lease.name)
        upsert.bind(2, lease.holder)
        upsert.bind(3, lease.fencingToken)
        upsert.bind(4, lease.expiresAt)
        try upsert.step()
    }
}
