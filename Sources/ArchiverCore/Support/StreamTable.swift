import ArchiveFormat
import Foundation
import RawJSON

/// Per-stream state keyed by stream name, found by the FNV hash the record decoder already computed
/// (``RecordFields/streamHash``) and the name's bytes in the record: no `String` and no SipHash per event. (For
/// the sum fold, the `[String: Total]` lookup was a third of the projection's time, on the one core that
/// applies events in order.)
struct StreamTable<Value> {
    /// The streams in the order they were first seen, and their values.
    private(set) var names: [String] = []
    private var values: [Value] = []
    private var hashes: [UInt64] = []
    /// Every name's UTF-8 bytes, one after another; name `k` ends at `nameEnds[k]`.
    private var nameBytes: [UInt8] = []
    private var nameEnds: [Int] = []
    /// Open addressing with linear probing: an index into `values`, or -1. Never more than half full.
    private var slots = [Int32](repeating: -1, count: 64)

    var count: Int { values.count }

    subscript(entry: Int) -> Value {
        get { values[entry] }
        _modify { yield &values[entry] }
    }

    /// Calls `body` with every value, in entry order.
    mutating func modifyEach(_ body: (inout Value) -> Void) {
        for entry in values.indices { body(&values[entry]) }
    }

    /// The entry of `event`'s stream, added with `initial` when new.
    mutating func entry(of event: ReplayEvent, initial: () -> Value) -> Int {
        let hash = event.streamHash
        return event.withStreamName { entry(hash: hash, name: $0, initial: initial) }
    }

    /// The entry of stream `name`, added with `initial` when new.
    mutating func entry(named name: String, initial: () -> Value) -> Int {
        var name = name
        return name.withUTF8 {
            entry(
                hash: StreamHash.fnv1a64(bytes: UnsafeRawBufferPointer($0)), name: UnsafeRawBufferPointer($0),
                initial: initial)
        }
    }

    /// The entry of the stream whose UTF-8 name is `name` and ``StreamHash/fnv1a64(bytes:)`` is `hash`.
    mutating func entry(hash: UInt64, name: UnsafeRawBufferPointer, initial: () -> Value) -> Int {
        let mask = slots.count - 1
        // FNV-1a's low bits barely change with a name's last byte: mix before taking the slot.
        var slot = Int(truncatingIfNeeded: StreamHash.fmix64(hash)) & mask
        while true {
            let entry = Int(slots[slot])
            if entry < 0 { break }
            if hashes[entry] == hash && nameEquals(entry, name) { return entry }
            slot = (slot + 1) & mask
        }
        let entry = values.count
        names.append(String(decoding: name, as: UTF8.self))
        hashes.append(hash)
        nameBytes.append(contentsOf: name)
        nameEnds.append(nameBytes.count)
        values.append(initial())
        slots[slot] = Int32(entry)
        if values.count * 2 > slots.count { grow() }
        return entry
    }

    private func nameEquals(_ entry: Int, _ name: UnsafeRawBufferPointer) -> Bool {
        let start = entry == 0 ? 0 : nameEnds[entry - 1]
        guard nameEnds[entry] - start == name.count else { return false }
        return nameBytes.withUnsafeBytes { memcmp($0.baseAddress! + start, name.baseAddress!, name.count) == 0 }
    }

    private mutating func grow() {
        slots = [Int32](repeating: -1, count: slots.count * 2)
        let mask = slots.count - 1
        for (entry, hash) in hashes.enumerated() {
            var slot = Int(truncatingIfNeeded: StreamHash.fmix64(hash)) & mask
            while slots[slot] >= 0 { slot = (slot + 1) & mask }
            slots[slot] = Int32(entry)
        }
    }

    /// The entries sorted by stream name.
    func sortedEntries() -> [Int] {
        names.indices.sorted { Self.precedes(names[$0], names[$1]) }
    }

    /// Row order: by `String` order, then by UTF-8 bytes for names `String` calls equal (canonically equivalent
    /// spellings, such as a precomposed and a decomposed "é", are different streams), so that the order does not
    /// depend on which table, or in which order, the streams were seen.
    static func precedes(_ a: String, _ b: String) -> Bool {
        // `==` settles most pairs that `<` did not at a fraction of a second `<`'s cost (sorting calls this).
        a < b || (a == b && a.utf8.lexicographicallyPrecedes(b.utf8))
    }

    /// One row per stream, in name order, each made in one reused buffer as the sink takes it: the row starts
    /// `{"stream":"NAME"` and `tail` appends the rest, closing brace included (`,"version":7…}`).
    func rowStream(tail: @escaping (_ value: Value, _ out: inout [UInt8]) -> Void) -> RowStream {
        Self.rowStream(merging: [self]) { _, value, out in tail(value, &out) }
    }

    /// ``rowStream(tail:)`` of tables that hold different streams (the parts of a fold split by stream), merged
    /// in name order; `tail` is also told which table the value is from.
    static func rowStream(
        merging tables: [StreamTable],
        tail: @escaping (_ table: Int, _ value: Value, _ out: inout [UInt8]) -> Void
    ) -> RowStream {
        RowStream { body in
            let orders = tables.map { $0.sortedEntries() }
            var next = [Int](repeating: 0, count: tables.count)
            var out: [UInt8] = []
            while let table = Self.leastName(tables, orders, next) {
                let entry = orders[table][next[table]]
                next[table] += 1
                let stream = tables[table].names[entry]
                out.removeAll(keepingCapacity: true)
                out.append(contentsOf: #"{"stream":"#.utf8)
                RawJSON.appendQuoted(stream, to: &out)
                tail(table, tables[table].values[entry], &out)
                try out.withUnsafeBytes { try body(stream, $0) }
            }
        }
    }

    /// The table whose next name in `orders` comes first (nil when every table is done): few tables, so a scan.
    private static func leastName(_ tables: [StreamTable], _ orders: [[Int]], _ next: [Int]) -> Int? {
        var least: Int? = nil
        for table in tables.indices where next[table] < orders[table].count {
            guard let best = least else {
                least = table
                continue
            }
            if precedes(tables[table].names[orders[table][next[table]]], tables[best].names[orders[best][next[best]]]) {
                least = table
            }
        }
        return least
    }
}

extension StreamTable: Sendable where Value: Sendable {}
