public import Coordination

/// Which tier answered a read: the archive (pruned positions), the hot store, or both (a page across the
/// pruned boundary).
public enum ReadTier: String, Sendable {
    case store, archive, mixed

    /// The tier of a page that used the archive, the store, or both (a page that found nothing is the store's).
    init(archive: Bool, store: Bool) {
        self = archive ? (store ? .mixed : .archive) : .store
    }
}

/// A page of a tiered read: the events, in the same order and with the same values whichever tier held them.
public struct TieredPage: Sendable {
    public var events: [RecordedEvent]
    public var tier: ReadTier
    /// The last position the read looked at: for a filtered read of the global order (a category), where the
    /// next page starts even when the last positions held no matching event.
    public var scannedThrough: Int64

    public init(events: [RecordedEvent], tier: ReadTier, scannedThrough: Int64) {
        self.events = events
        self.tier = tier
        self.scannedThrough = scannedThrough
    }
}
