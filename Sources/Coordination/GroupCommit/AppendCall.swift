/// One validated append call (``EventLog/appendMultiple(_:idempotencyKey:)``, or `append` as a call of one),
/// as a store commits it: alone or in a group.
public struct AppendCall: Sendable {
    public let requests: [AppendRequest]
    /// Each request's events, ids filled in.
    public let validated: [[ProposedEvent]]
    /// The key that covers the call, if any.
    public let idempotencyKey: String?
    /// ``AppendValidation/requestHash(_:)`` of the requests, when there is a key.
    public let requestHash: String?

    /// Validates `requests` (see ``AppendValidation/validateCall(_:idempotencyKey:limits:)``).
    /// - Throws: `.invalidInput` or `.eventTooLarge`: nothing is queued.
    public init(_ requests: [AppendRequest], idempotencyKey: String?, limits: AppendLimits) throws {
        let (validated, key) = try AppendValidation.validateCall(
            requests, idempotencyKey: idempotencyKey, limits: limits)
        self.requests = requests
        self.validated = validated
        self.idempotencyKey = key
        self.requestHash = key.map { _ in AppendValidation.requestHash(requests) }
    }
}
