/// Exponential backoff with full jitter for transient S3 failures.
///
/// Retried: 5xx answers, 503 `SlowDown` and 429, `RequestTimeout`, timeouts, dropped connections and refused
/// connections. The n-th retry waits a random time in `[0, min(maxDelay, baseDelay · 2ⁿ)]` (AWS's "full jitter",
/// which spreads a crowd of clients best). A conditional write is never re-sent blindly: after an ambiguous
/// failure the store first looks whether the write landed.
///
/// ```swift
/// var configuration = try S3Configuration(url: "s3://archive", region: "us-east-1", credentials: credentials)
/// configuration.retry = S3RetryPolicy(maxAttempts: 8, baseDelay: .milliseconds(200))
/// ```
public struct S3RetryPolicy: Sendable, Hashable {
    /// Attempts per request, the first included.
    public var maxAttempts: Int
    /// The cap of the first retry's wait.
    public var baseDelay: Duration
    /// The largest wait between two attempts.
    public var maxDelay: Duration

    public init(maxAttempts: Int = 6, baseDelay: Duration = .milliseconds(100), maxDelay: Duration = .seconds(10)) {
        self.maxAttempts = max(1, maxAttempts)
        self.baseDelay = baseDelay
        self.maxDelay = maxDelay
    }

    /// The wait before attempt `attempt + 1` (attempts count from 1), drawn from `generator`.
    func delay<G: RandomNumberGenerator>(afterAttempt attempt: Int, using generator: inout G) -> Duration {
        let exponent = min(attempt - 1, 30)
        let cap = min(maxDelay, baseDelay * (1 << exponent))
        let capNanoseconds = cap.components.seconds * 1_000_000_000 + cap.components.attoseconds / 1_000_000_000
        guard capNanoseconds > 0 else { return .zero }
        return .nanoseconds(Int64.random(in: 0...capNanoseconds, using: &generator))
    }

    /// ``delay(afterAttempt:using:)`` with the system generator.
    func delay(afterAttempt attempt: Int) -> Duration {
        var generator = SystemRandomNumberGenerator()
        return delay(afterAttempt: attempt, using: &generator)
    }
}
