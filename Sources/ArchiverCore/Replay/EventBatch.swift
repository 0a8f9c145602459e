import ArchiveFormat

/// Events copied out of the reader's chunks, so that fold workers can apply them after the call that delivered
/// them, each worker given the events of its own streams (``StreamPartition``) in position order.
final class EventBatch: @unchecked Sendable {
    // @unchecked: filled by one thread, then only read by the workers until the owner takes it back (the
    // hand-over is ordered by ``FoldWorkers``' semaphore).

    /// Where one event's line and data sit in ``bytes``.
    struct Entry {
        var line: Range<Int>
        var data: Range<Int>
        var fields: RecordFields
    }

    private(set) var bytes: [UInt8] = []
    private(set) var entries: [Entry] = []
    /// For each worker, the indices of its events in ``entries``.
    private(set) var assigned: [[Int32]]

    /// The batch is handed over when it holds this many events, or ``byteLimit`` bytes.
    let eventLimit: Int
    static let byteLimit = 4 << 20

    init(workers: Int, eventLimit: Int = 8192) {
        assigned = Array(repeating: [], count: workers)
        self.eventLimit = eventLimit
    }

    var isEmpty: Bool { entries.isEmpty }
    var isFull: Bool { entries.count >= eventLimit || bytes.count >= Self.byteLimit }

    /// Copies `event` (its line, and its data when that lies elsewhere, as a decrypted event's does).
    func append(_ event: ReplayEvent) {
        let lineStart = bytes.count
        bytes.append(contentsOf: event.line)
        let line = lineStart..<bytes.count
        let data: Range<Int>
        let lineBase = event.line.baseAddress!
        let dataBase = event.data.baseAddress ?? lineBase
        if dataBase >= lineBase, dataBase + event.data.count <= lineBase + event.line.count {
            let offset = lineStart + lineBase.distance(to: dataBase)
            data = offset..<(offset + event.data.count)
        } else {
            let dataStart = bytes.count
            bytes.append(contentsOf: event.data)
            data = dataStart..<bytes.count
        }
        let worker = StreamPartition.worker(of: event.streamHash, among: assigned.count)
        assigned[worker].append(Int32(entries.count))
        entries.append(Entry(line: line, data: data, fields: event.fields))
    }

    /// Calls `body` with each event of `worker`, in position order, until it throws.
    func forEach(of worker: Int, _ body: (ReplayEvent) throws -> Void) rethrows {
        try bytes.withUnsafeBytes { all in
            for index in assigned[worker] {
                let entry = entries[Int(index)]
                try body(
                    ReplayEvent(
                        line: UnsafeRawBufferPointer(rebasing: all[entry.line]), fields: entry.fields,
                        data: UnsafeRawBufferPointer(rebasing: all[entry.data])))
            }
        }
    }

    /// Empties the batch, keeping its room.
    func clear() {
        bytes.removeAll(keepingCapacity: true)
        entries.removeAll(keepingCapacity: true)
        for worker in assigned.indices { assigned[worker].removeAll(keepingCapacity: true) }
    }
}
