/// Named leases with fencing tokens (the flusher's and the compactor's).
///
/// ```swift
/// if let lease = try await leases.acquireLease("flusher", holder: "host-1:4242", ttlSeconds: 30) {
///     // write with lease.fencingToken
/// }
/// ```
public protocol LeaseStore: Sendable {
    /// Takes or renews the lease `name` for `holder`. Returns the lease with its fencing token if
    /// `holder` now holds it; nil if someone else holds an unexpired lease. Every change of holder
    /// increments the fencing token.
    func acquireLease(_ name: String, holder: String, ttlSeconds: Double) async throws -> Lease?

    /// Releases the lease if `holder` holds it.
    func releaseLease(_ name: String, holder: String) async throws

    /// The lease as it stands, whoever holds it (nil if it was never taken).
    func currentLease(_ name: String) async throws -> Lease?

    /// Takes the lease from `previousHolder` even though it has not expired, because that holder is known
    /// to be dead (e.g. a process on this host that no longer exists). Succeeds only if `previousHolder`
    /// still holds it; the fencing token increments.
    func takeOverLease(
        _ name: String, from previousHolder: String, holder: String, ttlSeconds: Double
    )
        async throws -> Lease?
}
