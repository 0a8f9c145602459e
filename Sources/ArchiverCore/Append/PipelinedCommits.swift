import Coordination

/// Commits batches of checked events in order, one transaction in flight while the caller parses the next
/// batch, so the store's round trip and commit overlap the parsing. A batch is sent only after the one before
/// it succeeded: order is kept and a failure stops everything after it.
struct PipelinedCommits {
    /// One transaction's events, consecutive events of one stream grouped into one request.
    struct Batch {
        var requests: [AppendRequest] = []
        var count = 0
        var firstLine = 0
        var lastLine = 0

        mutating func add(_ line: EventLine, number: Int) {
            if count == 0 { firstLine = number }
            lastLine = number
            count += 1
            if let last = requests.last, last.stream == line.stream {
                requests[requests.count - 1].events.append(line.event)
            } else {
                requests.append(AppendRequest(stream: line.stream, expected: .any, events: [line.event]))
            }
        }
    }

    let store: any CoordinationStore
    let source: String
    /// Batches of one event: the hop to a task costs more than the overlap gains, so they are sent inline.
    let single: Bool
    private(set) var appended = 0
    private var inFlight: (task: Task<Void, any Error>, count: Int)?

    init(store: any CoordinationStore, source: String, single: Bool) {
        self.store = store
        self.source = source
        self.single = single
    }

    /// Waits for the batch in flight, then sends `batch`.
    mutating func send(_ batch: Batch) async throws {
        try await settle()
        let (store, source, before) = (self.store, self.source, appended)
        let requests = batch.requests
        let lines = batch.firstLine...batch.lastLine
        @Sendable func commit() async throws {
            do {
                _ = try await store.appendMultiple(requests, idempotencyKey: nil)
            } catch {
                throw BatchAppendFailure(lines: lines, appendedBefore: before, source: source, cause: error)
            }
        }
        if single {
            try await commit()
            appended += batch.count
        } else {
            inFlight = (Task { try await commit() }, batch.count)
        }
    }

    /// Waits for the batch in flight, if any.
    mutating func settle() async throws {
        guard let (task, count) = inFlight else { return }
        inFlight = nil
        try await task.value
        appended += count
    }
}
