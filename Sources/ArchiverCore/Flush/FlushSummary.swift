/// What a flush pass did.
public struct FlushSummary: Sendable, Hashable {
    /// Events archived by this pass (including a resumed intent's).
    public var events: Int64 = 0
    /// Snapshots committed, oldest first.
    public var snapshotIDs: [String] = []
    /// Data objects written (or reused after a crash).
    public var files: Int = 0
    /// Uncompressed record bytes and stored bytes.
    public var bytesIn: Int64 = 0
    public var bytesOut: Int64 = 0
    public var seconds: Double = 0
    /// Flush cursor after the pass.
    public var lastPosition: Int64 = 0
    /// True if the pass first completed a flush that an earlier process left unfinished.
    public var resumedIntent = false
    public var cutName: String?
    /// Catalog checkpoints written by this pass (catalog snapshot ids).
    public var checkpoints: [String] = []
    /// Why a due checkpoint was not written (it is derived data: the flush still succeeded).
    public var notes: [String] = []
    /// When the pass archived nothing: committed events above the cursor that the safe high-water mark held
    /// back (see ``heldBackReason``).
    public var heldBack: Int64 = 0

    /// Why committed events were not archived, for a pass that archived none while ``heldBack`` > 0.
    public var heldBackReason: String {
        "\(heldBack) committed event(s) above position \(lastPosition) wait for the safe high-water mark: an append "
            + "still in flight holds it back, or a rolled-back append's gap while another write transaction is open "
            + "on the PostgreSQL server (see pg_stat_activity); they are archived once it ends"
    }

    public init() {}

    /// Stored bytes per uncompressed byte, as "4.9x".
    public var ratio: Double { bytesOut > 0 ? Double(bytesIn) / Double(bytesOut) : 0 }
}

/// Progress of a running flush, reported after each snapshot and every few pages.
public struct FlushProgress: Sendable {
    public var events: Int64
    /// Committed events waiting when the pass started (an estimate: appends continue).
    public var backlog: Int64
    public var seconds: Double
}
