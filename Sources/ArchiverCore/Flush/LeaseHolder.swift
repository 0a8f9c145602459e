import Coordination
import Foundation

/// Lease holder names are `host/pid`.
enum LeaseHolder {
    /// True if `holder` names a process on this host that no longer exists.
    static func isDeadLocalProcess(_ holder: String) -> Bool {
        guard let slash = holder.lastIndex(of: "/"), let pid = pid_t(holder[holder.index(after: slash)...]),
            holder[..<slash] == ProcessInfo.processInfo.hostName, pid > 0
        else { return false }
        return kill(pid, 0) != 0 && errno == ESRCH
    }

    /// Takes the lease `name`; one held by a process of this host that no longer exists (killed) is taken over
    /// at once instead of waiting for it to expire. nil when a live holder has it.
    static func acquire(
        _ name: String, in store: any CoordinationStore, holder: String, ttlSeconds: Double
    ) async throws -> Lease? {
        if let lease = try await store.acquireLease(name, holder: holder, ttlSeconds: ttlSeconds) { return lease }
        guard let current = try await store.currentLease(name), isDeadLocalProcess(current.holder) else { return nil }
        return try await store.takeOverLease(name, from: current.holder, holder: holder, ttlSeconds: ttlSeconds)
    }

    /// Runs `body`, then releases the lease `name` of `holder` when `release` is true, also when `body` throws.
    /// The release is awaited: one left to a detached task could land after the same holder's next pass had
    /// taken the lease again, and fence that pass.
    static func releasing<T>(
        _ name: String, in store: any CoordinationStore, holder: String, release: Bool = true,
        _ body: () async throws -> T
    ) async throws -> T {
        let result: T
        do {
            result = try await body()
        } catch {
            if release { try? await store.releaseLease(name, holder: holder) }
            throw error
        }
        if release { try? await store.releaseLease(name, holder: holder) }
        return result
    }

    /// Renews `lease`; nil when it was lost (another holder took it, so its fencing token changed).
    static func renew(
        _ lease: Lease, in store: any CoordinationStore, holder: String, ttlSeconds: Double
    ) async throws -> Lease? {
        guard let renewed = try await store.acquireLease(lease.name, holder: holder, ttlSeconds: ttlSeconds),
            renewed.fencingToken == lease.fencingToken
        else { return nil }
        return renewed
    }
}
