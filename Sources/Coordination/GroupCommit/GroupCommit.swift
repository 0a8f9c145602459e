/// How a store gathers concurrent append calls into one transaction and one commit (group commit).
///
/// Calls that arrive while a commit is in flight queue behind it; the next commit takes all of them, up to
/// ``maxCalls``. Each call keeps its own expected-version check, idempotency result and error, and none is
/// answered before the commit that holds it is durable.
public struct GroupCommit: Sendable, Hashable {
    /// Most append calls committed in one transaction; 1 commits each call on its own.
    public var maxCalls: Int = 32
    /// How long a commit waits for more calls when fewer than ``maxCalls`` are queued. 0 (the default) adds no
    /// wait: only the calls already queued are gathered.
    public var maxWaitSeconds: Double = 0

    public init(maxCalls: Int = 32, maxWaitSeconds: Double = 0) {
        self.maxCalls = max(1, maxCalls)
        self.maxWaitSeconds = max(0, maxWaitSeconds)
    }
}
