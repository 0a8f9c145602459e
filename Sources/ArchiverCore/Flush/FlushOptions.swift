import Foundation

public struct FlushOptions: Sendable {
    /// Names the last snapshot of this pass as a cut point.
    public var cutName: String?
    /// Identifies this flusher in the lease (host and process id by default).
    public var holder: String
    public var leaseTTLSeconds: Double = 60
    /// Events read from the coordination store per query.
    public var pageSize: Int = 5_000
    /// Where segment files are staged before they are published.
    public var spoolDirectory: String
    /// Written to `archiver.producer`.
    public var producer: String
    /// Stop after this many snapshots (nil: until caught up).
    public var maxSnapshots: Int?
    /// Crypto-shredding: the metadata member naming each event's subject; events with one are archived with
    /// their data encrypted under the subject's key (``SubjectEncryptor``).
    public var subjectField: String?
    /// Write a catalog checkpoint whenever this many snapshots were committed since the last one (0: never).
    public var checkpointEvery: Int = ArchiveCatalog.defaultCheckpointInterval
    /// Keep the lease after the pass instead of releasing it, so a long-running flusher (`archiver serve`)
    /// stays the one that flushes while it renews the lease within `leaseTTLSeconds`.
    public var keepsLease = false

    public init(cutName: String? = nil, holder: String? = nil, spoolDirectory: String? = nil, producer: String) {
        self.cutName = cutName
        self.holder = holder ?? "\(ProcessInfo.processInfo.hostName)/\(getpid())"
        self.spoolDirectory = spoolDirectory ?? NSTemporaryDirectory()
        self.producer = producer
    }
}
