/// Every stream's fold state in one byte buffer: no allocation per stream (a million streams with 60-byte
/// states take about 60 MB here, where a `[UInt8]` each would take about twice that in headers and malloc
/// rounding).
///
/// A state that still fits its slot is rewritten in place; one that grew moves to the end with a quarter more
/// room, and its old slot becomes garbage, reclaimed by ``compact(_:)`` when garbage outweighs live bytes.
struct StateArena {
    /// Where a state lives in ``bytes``.
    struct Slot {
        var offset = 0
        var length: Int32 = 0
        var capacity: Int32 = 0
    }

    private(set) var bytes: [UInt8] = []
    private var garbage = 0
    /// Compaction waits for this much garbage, so that small replays never compact.
    var minimumGarbage = 32 << 20

    /// Calls `body` with the state of `slot` (nil when empty).
    func withState<R>(_ slot: Slot, _ body: (UnsafeRawBufferPointer?) throws -> R) rethrows -> R {
        guard slot.length > 0 else { return try body(nil) }
        return try bytes.withUnsafeBytes {
            try body(UnsafeRawBufferPointer(rebasing: $0[slot.offset..<(slot.offset + Int(slot.length))]))
        }
    }

    /// Stores `state` as the new contents of `slot`.
    mutating func store(_ state: [UInt8], in slot: inout Slot) {
        if state.count <= Int(slot.capacity) {
            let offset = slot.offset
            bytes.withUnsafeMutableBytes { room in
                state.withUnsafeBytes {
                    room.baseAddress!.advanced(by: offset).copyMemory(from: $0.baseAddress!, byteCount: $0.count)
                }
            }
            garbage += Int(slot.length) - state.count
            slot.length = Int32(state.count)
            return
        }
        // A first state gets exactly its size (many streams see one event); a growing one, room to grow.
        let capacity = slot.capacity == 0 ? state.count : state.count + state.count / 4
        garbage += Int(slot.capacity)
        slot = Slot(offset: bytes.count, length: Int32(state.count), capacity: Int32(capacity))
        bytes.append(contentsOf: state)
        bytes.append(contentsOf: repeatElement(0, count: capacity - state.count))
    }

    var needsCompaction: Bool { garbage > minimumGarbage && garbage > bytes.count - garbage }

    /// Moves every state of `table` to the front, in entry order, with no spare room.
    mutating func compact<Value>(_ table: inout StreamTable<Value>, slot: WritableKeyPath<Value, Slot>) {
        var packed: [UInt8] = []
        packed.reserveCapacity(bytes.count - garbage)
        bytes.withUnsafeBytes { old in
            table.modifyEach { value in
                let moved = value[keyPath: slot]
                let start = packed.count
                packed.append(contentsOf: old[moved.offset..<(moved.offset + Int(moved.length))])
                value[keyPath: slot] = Slot(offset: start, length: moved.length, capacity: moved.length)
            }
        }
        bytes = packed
        garbage = 0
    }
}
