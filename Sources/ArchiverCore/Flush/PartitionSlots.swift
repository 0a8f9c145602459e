import ArchiveFormat

/// Numbers the partitions (e.g. category and day) that events fall into: the flusher finds a partition's file
/// by its number instead of hashing the stream name and building the partition strings per event.
struct PartitionSlots: Sendable {
    let partitioning: ArchivePartitioning
    /// Each slot's partition values, in ``ArchivePartitioning/keys`` order.
    private(set) var values: [[String]] = []
    private var slotOfValues: [[String]: Int] = [:]
    /// Each stream's slot for the day it was last seen on (a stream keeps its category). A cache: it starts over
    /// after ``maxStreams`` streams, so a pass over millions of streams keeps bounded memory.
    private var byStream = StreamTable<(day: Int64, slot: Int)>()
    /// The stream numbers handed out before `byStream` last started over: numbers never repeat.
    private var numberBase = 0
    static let maxStreams = 1 << 16

    init(partitioning: ArchivePartitioning) {
        self.partitioning = partitioning
    }

    /// The slot of an event of the stream whose UTF-8 name is `stream` and ``StreamHash`` is `hash`, and a
    /// number for the stream (0, 1, 2… in order of first appearance). A number names one stream only; a stream
    /// seen again after the cache started over gets a new one.
    mutating func slot(
        stream: UnsafeRawBufferPointer, hash: UInt64, recordedAtNanos: Int64
    ) -> (
        slot: Int, stream: Int
    ) {
        let nanosPerDay: Int64 = 86_400_000_000_000
        let (quotient, remainder) = recordedAtNanos.quotientAndRemainder(dividingBy: nanosPerDay)
        let day = remainder < 0 ? quotient - 1 : quotient
        if byStream.count >= Self.maxStreams {
            numberBase += byStream.count
            byStream = StreamTable()
        }
        let entry = byStream.entry(hash: hash, name: stream) { (day: Int64.min, slot: -1) }
        if byStream[entry].day == day { return (byStream[entry].slot, numberBase + entry) }
        let name = String(decoding: stream, as: UTF8.self)
        let partition = partitioning.values(stream: name, recordedAtNanos: recordedAtNanos)
        let slot: Int
        if let known = slotOfValues[partition] {
            slot = known
        } else {
            slot = values.count
            values.append(partition)
            slotOfValues[partition] = slot
        }
        byStream[entry] = (day, slot)
        return (slot, numberBase + entry)
    }
}
