import Coordination

/// Reads a store's events in position order, a page at a time, up to a last position.
struct EventPager {
    let store: any CoordinationStore
    let through: Int64
    private var after: Int64
    private var page: [RecordedEvent] = []
    private var index = 0
    private var exhausted = false
    static let pageSize = 2_000

    init(store: any CoordinationStore, after: Int64, through: Int64) {
        self.store = store
        self.after = after
        self.through = through
    }

    /// The next event at or below ``through``, or nil at the end.
    mutating func next() async throws -> RecordedEvent? {
        if index == page.count {
            guard !exhausted else { return nil }
            page = try await store.readAll(after: after, limit: Self.pageSize)
            index = 0
            exhausted = page.count < Self.pageSize
            guard let last = page.last else { return nil }
            after = last.position
        }
        let event = page[index]
        guard event.position <= through else {
            exhausted = true
            index = page.count
            return nil
        }
        index += 1
        return event
    }
}
