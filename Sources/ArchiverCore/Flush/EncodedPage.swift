/// A page of events ready to archive: each record's body (everything the chain hash covers) encoded, with the
/// few facts the flusher needs per event.
struct EncodedPage: Sendable {
    var positions: [Int64] = []
    var recordedAts: [Int64] = []
    /// Each event's ``PartitionSlots`` number; `partitions[slot]` are its partition values.
    var slots: [Int32] = []
    var partitions: [[String]] = []
    /// Each event's stream number (``PartitionSlots`` numbers streams as it meets them) and
    /// ``StreamHash/fnv1a64(_:)``, for the files' stream filters.
    var streams: [Int32] = []
    var streamHashes: [UInt64] = []
    var bodies: [UInt8] = []
    /// `bodies[bodyEnds[i - 1]..<bodyEnds[i]]` is event `i`'s body.
    var bodyEnds: [Int] = []

    var count: Int { positions.count }
    var isEmpty: Bool { positions.isEmpty }

    mutating func reserve(_ count: Int) {
        positions.reserveCapacity(count)
        recordedAts.reserveCapacity(count)
        slots.reserveCapacity(count)
        streams.reserveCapacity(count)
        streamHashes.reserveCapacity(count)
        bodyEnds.reserveCapacity(count)
    }

    /// Calls `body` with each event from index `first` on, in order, until it returns false.
    func forEach(from first: Int = 0, _ body: (PageEvent) throws -> Bool) rethrows {
        try bodies.withUnsafeBytes { raw in
            var start = first == 0 ? 0 : bodyEnds[first - 1]
            for index in first..<positions.count {
                let end = bodyEnds[index]
                let event = PageEvent(
                    position: positions[index], recordedAtNanos: recordedAts[index], slot: Int(slots[index]),
                    stream: Int(streams[index]), streamHash: streamHashes[index],
                    body: UnsafeRawBufferPointer(rebasing: raw[start..<end]))
                guard try body(event) else { return }
                start = end
            }
        }
    }
}

/// One event of an ``EncodedPage``; `body` is valid only during the call that receives it.
struct PageEvent {
    var position: Int64
    var recordedAtNanos: Int64
    var slot: Int
    var stream: Int
    var streamHash: UInt64
    var body: UnsafeRawBufferPointer
}
