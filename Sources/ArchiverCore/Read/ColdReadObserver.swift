/// Receives what cold reads do, for metrics (the server counts them next to its other metrics).
public protocol ColdReadObserver: Sendable {
    /// One cold read finished (successfully or not) after `seconds`.
    func coldRead(seconds: Double)
    /// A snapshot's events came from the cache.
    func cacheHit()
    /// A snapshot's events were not cached: its objects were fetched (`storedBytes`) and decoded.
    func cacheMiss(storedBytes: Int64)
    /// The cache now holds this many bytes.
    func cacheBytes(_ bytes: Int64)
}
