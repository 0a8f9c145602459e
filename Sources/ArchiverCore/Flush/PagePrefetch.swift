import ArchiveFormat
import Coordination

/// Reads pages of events and encodes them ahead of the flusher, up to ``depth`` pages in flight.
///
/// Each read starts as soon as the read before it has returned (it continues after that page's last
/// position), so the store produces page N+1 while page N is encoded on another thread and page N-1 is sealed
/// and compressed by the flusher. Encoding a page prepares its events (subject encryption when configured),
/// encodes each record's body and numbers its partition, so the flusher's loop touches no `String`. Pages are
/// encoded in order: each takes the encryptor's and the partition numbering's state from the page before.
/// Reading stops after a short page or one reaching `bound`.
///
/// A snapshot that fills up inside a page hands the rest back (``putBack(_:from:after:)``), and the next
/// snapshot of the pass continues with the same prefetch instead of reading those pages again.
struct PagePrefetch {
    /// Pages read or being read ahead of the one the flusher seals. Three keep the store, the encoding and
    /// the sealing busy at once; each costs about two page sizes of memory (read and encoded).
    static let depth = 3

    typealias State = (encryptor: SubjectEncryptor?, slots: PartitionSlots)
    private typealias Encoded = (page: EncodedPage, state: State)

    let store: any CoordinationStore
    let pageSize: Int
    /// Events after this position are not read.
    let bound: Int64
    private let start: Int64
    private let initialState: State
    private var lastRead: Task<PackedEvents, any Error>?
    private var lastEncoded: Task<Encoded, any Error>?
    private var ahead: [Task<Encoded, any Error>] = []
    /// The rest of a page a snapshot ended in: its events from `next` on come first.
    private var current: (page: EncodedPage, next: Int)?
    /// The position of the event before the next one ``next()`` returns, when known (after ``putBack``).
    private(set) var resumesAfter: Int64

    init(
        store: any CoordinationStore, pageSize: Int, encryptor: SubjectEncryptor?, partitioning: ArchivePartitioning,
        after position: Int64, upTo bound: Int64
    ) {
        self.store = store
        self.pageSize = pageSize
        self.bound = bound
        self.start = position
        self.resumesAfter = position
        self.initialState = (encryptor, PartitionSlots(partitioning: partitioning))
        for _ in 0..<Self.depth { schedule() }
    }

    /// The next page and the index of its first event not yet taken; nil when every event up to `bound` was
    /// taken.
    mutating func next() async throws -> (page: EncodedPage, from: Int)? {
        if let (page, next) = current {
            current = nil
            return (page, next)
        }
        guard !ahead.isEmpty else { return nil }
        let task = ahead.removeFirst()
        schedule()
        let page = try await task.value.page
        return page.isEmpty ? nil : (page, 0)
    }

    /// Gives back the events of `page` from index `next` on (a snapshot filled up before them); `after` is the
    /// position of the last event taken.
    mutating func putBack(_ page: EncodedPage, from next: Int, after: Int64) {
        current = next < page.count ? (page, next) : nil
        resumesAfter = after
    }

    func cancel() {
        lastRead?.cancel()
        for task in ahead { task.cancel() }
    }

    /// Starts reading and encoding the page after the last one started.
    private mutating func schedule() {
        let (store, pageSize, bound, start) = (self.store, self.pageSize, self.bound, self.start)
        let previousRead = lastRead
        let read = Task {
            var after = start
            if let previousRead {
                let previous = try await previousRead.value
                guard previous.count == pageSize, let last = previous.positions.last, last < bound else {
                    return PackedEvents()
                }
                after = last
            }
            try Task.checkCancellation()
            return try await store.readAllPacked(after: after, limit: pageSize)
        }
        let previousEncoded = lastEncoded
        let initialState = self.initialState
        let encoded = Task { () throws -> Encoded in
            var (encryptor, slots) = try await previousEncoded?.value.state ?? initialState
            var events = try await read.value
            if var subjects = encryptor {
                // Subject encryption rewrites `data` (and needs the store for keys).
                var prepared: [RecordedEvent] = []
                for event in events.events() { prepared.append(try await subjects.prepare(event)) }
                events = PackedEvents(prepared)
                encryptor = subjects
            }
            var page = EncodedPage()
            page.reserve(events.count)
            // The page's bodies are written into one buffer sized for the most they can take.
            var limit = 0
            events.forEach { event in
                limit += RecordEncoder.maxBodyBytes(
                    stream: event.stream.count, id: event.id.count, type: event.type.count, data: event.data.count,
                    metadata: event.metadata.count)
            }
            let bodies = [UInt8](unsafeUninitializedCapacity: max(limit, 1)) { buffer, initialized in
                let base = UnsafeMutableRawPointer(buffer.baseAddress!)
                var written = 0
                events.forEach { event in
                    guard event.position <= bound else { return }
                    written += RecordEncoder.writeBody(
                        position: event.position, stream: event.stream, version: event.version, id: event.id,
                        type: event.type, recordedAtNanos: event.recordedAtNanos, data: event.data,
                        metadata: event.metadata, to: base + written)
                    let streamHash = StreamHash.fnv1a64(bytes: event.stream)
                    let (slot, stream) = slots.slot(
                        stream: event.stream, hash: streamHash, recordedAtNanos: event.recordedAtNanos)
                    page.positions.append(event.position)
                    page.recordedAts.append(event.recordedAtNanos)
                    page.slots.append(Int32(slot))
                    page.streams.append(Int32(clamping: stream))
                    page.streamHashes.append(streamHash)
                    page.bodyEnds.append(written)
                }
                precondition(written <= limit, "record bodies overran their buffer")
                initialized = written
            }
            page.bodies = bodies
            page.partitions = slots.values
            return (page, (encryptor: encryptor, slots: slots))
        }
        lastRead = read
        lastEncoded = encoded
        ahead.append(encoded)
    }
}
