public import Coordination
import Foundation

// LeaseStore: fenced leases (flush, compaction).
extension PostgresCoordinationStore {
    /// Locks the lease row, creating a never-held placeholder (token 0, expired) if there is none, so two
    /// first acquirers serialise on the row.
    private func lockedLease(_ name: String, _ db: PostgresConnection) throws -> Lease {
        try db.query(
            "INSERT INTO \(schema).leases (name, holder, fencing_token, expires_at) VALUES ($1, '', 0, 0) "
                + "ON CONFLICT (name) DO NOTHING", [name])
        let rows = try db.query(
            "SELECT holder, fencing_token, expires_at FROM \(schema).leases WHERE name = $1 FOR UPDATE", [name])
        return Lease(
            name: name, holder: rows.string(0, 0), fencingToken: rows.int64(0, 1), expiresAt: rows.double(0, 2))
    }

    private func writeLease(_ lease: Lease, _ db: PostgresConnection) throws {
        try db.query(
            "UPDATE \(schema).leases SET holder = $2, fencing_token = $3, expires_at = $4 WHERE name = $1",
            [lease.name, lease.holder, String(lease.fencingToken), String(lease.expiresAt)])
    }

    public func acquireLease(_ name: String, holder: String, ttlSeconds: Double) async throws -> Lease? {
        let now = Date().timeIntervalSince1970
        return try await transaction("acquire the lease") { db in
            let lease = StoreRules.acquire(
                name, current: try lockedLease(name, db), holder: holder, now: now, ttlSeconds: ttlSeconds)
            if let lease { try writeLease(lease, db) }
            return lease
        }
    }

    public func takeOverLease(
        _ name: String, from previousHolder: String, holder: String, ttlSeconds: Double
    )
        async throws -> Lease?
    {
        let now = Date().timeIntervalSince1970
        return try await transaction("take over the lease") { db in
            let lease = StoreRules.takeOver(
                name, current: try lockedLease(name, db), from: previousHolder, holder: holder, now: now,
                ttlSeconds: ttlSeconds)
            if let lease { try writeLease(lease, db) }
            return lease
        }
    }

    public func releaseLease(_ name: String, holder: String) async throws {
        // The row stays so the fencing token keeps increasing across holders.
        try run(
            "release the lease", "UPDATE \(schema).leases SET expires_at = 0 WHERE name = $1 AND holder = $2",
            [name, holder])
    }

    public nonisolated func currentLease(_ name: String) async throws -> Lease? {
        let rows = try await read(
            "read the lease",
            "SELECT holder, fencing_token, expires_at FROM \(schema).leases WHERE name = $1 AND fencing_token > 0",
            [name])
        return rows.isEmpty
            ? nil
            : Lease(name: name, holder: rows.string(0, 0), fencingToken: rows.int64(0, 1), expiresAt: rows.double(0, 2))
    }
}
