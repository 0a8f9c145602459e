import ArchiveFormat
import Coordination

extension TieredEventReader {
    /// Store pages scanned at a time when filtering the global order by category.
    static let categoryScanPage = 1_000

    /// Events of the streams of `category` (the stream name up to its first `-`) with `position > after`, in
    /// position order, at most `limit`; ``TieredPage/scannedThrough`` is where the next page starts.
    public func readCategory(_ category: String, after: Int64, limit: Int) async throws -> TieredPage {
        var events: [RecordedEvent] = []
        var position = after
        var (usedArchive, usedStore) = (false, false)
        func page() -> TieredPage {
            TieredPage(events: events, tier: ReadTier(archive: usedArchive, store: usedStore), scannedThrough: position)
        }
        for _ in 0..<Self.maxRounds {
            let want = limit - events.count
            if want <= 0 { return page() }
            let pruned = try await store.prunedThrough()
            if position < pruned {
                guard let cold else {
                    try StoreRules.checkReadAll(after: position, prunedThrough: pruned)
                    continue
                }
                let found = try await cold.readCategory(category, after: position, through: pruned, limit: want)
                events += found
                usedArchive = true
                position = found.count == want ? found.last!.position : pruned
                continue
            }
            guard let scanned = try await storePage(after: position, limit: Self.categoryScanPage) else { continue }
            for event in scanned {
                position = event.position
                guard ArchivePartitioning.category(of: event.stream) == category else { continue }
                events.append(event)
                usedStore = true
                if events.count == limit { return page() }
            }
            if scanned.count < Self.categoryScanPage { return page() }
        }
        throw Self.unsettled()
    }
}
