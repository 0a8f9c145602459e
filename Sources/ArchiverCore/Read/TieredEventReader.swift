import ArchiveFormat
public import Coordination

/// Reads of the event log that see archived history: positions the hot store pruned come from the archive
/// (``ColdEventSource``), the rest from the store, with no gap and no duplicate at the boundary. Every read
/// surface (the CLI's `read`, the HTTP reads, long-poll and Server-Sent Events) reads through it.
///
/// The boundary is the store's pruned position, read again after each store page: a prune that moved past
/// the page's start while the page was read may have deleted part of it, so the page is read again (from the
/// archive). Positions the store says were pruned (so archived) but that the archive lacks are an
/// ``ArchiverError`` `.tampered` error, never an empty page. Without an archive (`cold` nil) a pruned range is
/// the store's `.prunedRange` error, as before.
///
/// ```swift
/// let reader = TieredEventReader(store: store, cold: ColdEventSource(archive: archive, keys: store))
/// let page = try await reader.readAll(after: 0, limit: 100)  // archive, then store
/// ```
public struct TieredEventReader: Sendable {
    public let store: any CoordinationStore
    public let cold: ColdEventSource?

    public init(store: any CoordinationStore, cold: ColdEventSource?) {
        self.store = store
        self.cold = cold
    }

    /// A boundary that keeps moving for this many rounds of one read is a store fault, not a race.
    static let maxRounds = 1_000

    /// Events with `position > after`, in position order, at most `limit`.
    public func readAll(after: Int64, limit: Int) async throws -> TieredPage {
        var events: [RecordedEvent] = []
        var position = after
        var (usedArchive, usedStore) = (false, false)
        for _ in 0..<Self.maxRounds {
            let want = limit - events.count
            if want <= 0 { break }
            let pruned = try await store.prunedThrough()
            if position < pruned {
                let page = try await coldAll(after: position, through: pruned, limit: want)
                events += page
                position = page.last!.position
                usedArchive = true
                continue
            }
            guard let page = try await storePage(after: position, limit: want) else { continue }
            events += page
            usedStore = usedStore || !page.isEmpty
            return TieredPage(
                events: events, tier: ReadTier(archive: usedArchive, store: usedStore),
                scannedThrough: events.last?.position ?? after)
        }
        guard events.count >= limit else { throw Self.unsettled() }
        return TieredPage(
            events: events, tier: ReadTier(archive: usedArchive, store: usedStore),
            scannedThrough: events.last?.position ?? after)
    }

    /// The archived events after `after` through the pruned position `through`; a page short of `limit` must end
    /// exactly at `through` (the pruned position is the last event of an archived snapshot).
    func coldAll(after: Int64, through: Int64, limit: Int) async throws -> [RecordedEvent] {
        guard let cold else {
            try StoreRules.checkReadAll(after: after, prunedThrough: through)
            return []
        }
        let page = try await cold.readAll(after: after, through: through, limit: limit)
        if page.count < limit, page.last?.position != through {
            throw Self.missing(
                "positions \(after + 1)...\(through)", holds: page.last.map { "only up to \($0.position)" } ?? "none")
        }
        return page
    }

    /// A page of the store, or nil when a prune moved the boundary past `after` meanwhile (read again).
    func storePage(after: Int64, limit: Int) async throws -> [RecordedEvent]? {
        let page: [RecordedEvent]
        do {
            page = try await store.readAll(after: after, limit: limit)
        } catch let error as CoordinationError where error.code == .prunedRange && cold != nil {
            return nil
        }
        // Nothing above `after` was pruned before the re-check, so the page read everything above it.
        if !page.isEmpty, try await store.prunedThrough() > after { return nil }
        return page
    }

    /// Events of `stream` with `version >= fromVersion`, in version order, at most `limit`.
    public func readStream(_ stream: String, fromVersion: Int64, limit: Int) async throws -> TieredPage {
        var events: [RecordedEvent] = []
        var version = max(1, fromVersion)
        var (usedArchive, usedStore) = (false, false)
        for _ in 0..<Self.maxRounds {
            let want = limit - events.count
            if want <= 0 { break }
            do {
                // Versions have no gaps: a page that starts at `version` is whole, whatever prune did meanwhile.
                let page = try await store.readStream(stream, fromVersion: version, limit: want)
                events += page
                usedStore = usedStore || !page.isEmpty
                return TieredPage(
                    events: events, tier: ReadTier(archive: usedArchive, store: usedStore),
                    scannedThrough: events.last?.position ?? 0)
            } catch let error as CoordinationError where error.code == .prunedRange && cold != nil {
                let page = try await coldStream(stream, fromVersion: version, limit: want)
                events += page
                version = page.last!.version + 1
                usedArchive = true
            }
        }
        guard events.count >= limit else { throw Self.unsettled() }
        return TieredPage(
            events: events, tier: ReadTier(archive: usedArchive, store: usedStore),
            scannedThrough: events.last?.position ?? 0)
    }

    /// The archived events of a stream from `version` on (the store said that version was pruned): they must
    /// start at `version` and follow each other.
    func coldStream(_ stream: String, fromVersion version: Int64, limit: Int) async throws -> [RecordedEvent] {
        let pruned = try await store.prunedThrough()
        let page = try await cold!.readStream(stream, fromVersion: version, through: pruned, limit: limit)
        let consecutive = page.enumerated().allSatisfy { $0.element.version == version + Int64($0.offset) }
        guard !page.isEmpty, consecutive else {
            throw Self.missing(
                "version \(version) of stream '\(stream.prefix(255))'",
                holds: page.isEmpty ? "none" : "versions \(page.map(\.version).prefix(3))…")
        }
        return page
    }

    static func missing(_ what: String, holds: String) -> ArchiverError {
        ArchiverError(
            .tampered,
            "archive integrity: the hot store pruned \(what) as archived, but the archive holds \(holds): "
                + "archived events are missing or --archive names another archive; run `archiver verify`")
    }

    static func unsettled() -> ArchiverError {
        ArchiverError(
            .unreadable,
            "the hot store's pruned position kept moving during the read (\(maxRounds) rounds); try again")
    }
}
