import Foundation
import RawJSON

/// An event's `data` object taken apart only as far as a resolved chain (``UpcastChain``) reads it: the
/// top-level members its steps name become ``MemberSlot``s, byte ranges that the edits move, drop and fill
/// without building a tree (only a step that reaches inside a member or makes a value builds one); every other
/// member stays bytes and is written back as it was found.
///
/// In the ``Form/canonical`` form the output is the bytes ``JSONValue/serialize()`` would give for the whole
/// upcast object; in the ``Form/asArchived`` form the members no rule names, and named ones no step changed,
/// keep their archived bytes (same JSON value, for consumers that canonicalise what they are given anyway).
struct PartialData {
    /// How the members are written.
    enum Form {
        /// In canonical form: every consumer that sees the bytes (reads, export, `--exec`, Swift projections).
        case canonical
        /// As archived, for a ``DataValueProjection``: it canonicalises them itself.
        case asArchived
    }

    /// The named members, in the order of the chain's keys, as the edits leave them.
    var named: MemberSlots
    let keys: UpcastTouchedKeys
    let form: Form
    private var object: UnsafeRawBufferPointer { named.object }
    /// Canonical form: the frame of `scratch` holding every member of the object, sorted by key, the last of
    /// duplicates kept.
    private let members: MemberList?
    /// Canonical form: whether member `i` of the frame (counted from its start) is one of the named ones.
    private let isNamed: [Bool]
    /// Canonical form: the decoded key of member `i` when its literal has escapes (to order it among the named
    /// keys).
    private let decodedKeys: [String?]
    /// As-archived form: the bytes (key to value) of the members no rule names, in archived order, a run of
    /// adjacent members as one range.
    private var untouched: [Range<Int>]

    /// Room for the slots and runs of one event, handed from one event to the next (``release(_:into:)``).
    struct Buffers {
        var slots: [MemberSlot] = []
        var untouched: [Range<Int>] = []
    }

    /// Nil when `data` is not an object; it must outlive the value, as must the frame collected in `scratch`
    /// (release it with ``release(_:)``). In the canonical form `data` must be valid JSON; in the as-archived
    /// form it is validated here, in the one pass that finds its members.
    /// - Throws: what ``RawJSON`` throws for JSON that is not valid.
    init?(
        _ data: UnsafeRawBufferPointer, keys: UpcastTouchedKeys, form: Form, scratch: inout MemberScratch,
        buffers: inout Buffers
    ) throws {
        let start = ValidJSON.skipSpace(data, from: 0)
        guard start < data.count, data[start] == UInt8(ascii: "{") else { return nil }
        self.form = form
        self.keys = keys
        var slots: [MemberSlot] = []
        swap(&slots, &buffers.slots)
        slots.removeAll(keepingCapacity: true)
        slots.append(contentsOf: repeatElement(.absent, count: keys.keys.count))
        guard form == .canonical else {
            (members, isNamed, decodedKeys) = (nil, [], [])
            var untouched: [Range<Int>] = []
            swap(&untouched, &buffers.untouched)
            untouched.removeAll(keepingCapacity: true)
            let found = try Self.findMembers(data, from: start) { literal, value in
                let quoted = UnsafeRawBufferPointer(rebasing: data[literal])
                let escaped = memchr(quoted.baseAddress!, 0x5C, quoted.count) != nil
                if let index = keys.index(quoted: quoted, escaped: escaped) {
                    // The one check of a named value: it may not reach the output (a remove, a move over it).
                    try RawJSON.validate(UnsafeRawBufferPointer(rebasing: data[value]), maxDepth: 511)
                    slots[index] = .archived(value)
                } else if let last = untouched.last, Self.onlySeparates(data, last.upperBound, literal.lowerBound) {
                    // Members next to each other are copied as one run.
                    untouched[untouched.count - 1] = last.lowerBound..<value.upperBound
                } else {
                    untouched.append(literal.lowerBound..<value.upperBound)
                }
            }
            guard found else {
                // Not the shape of an object: the validating scanner names what is wrong.
                var scanner = try ObjectScanner(data)
                while try scanner.next() != nil {}
                throw RawJSONError("malformed object", offset: 0)
            }
            self.named = MemberSlots(slots: slots, object: data)
            self.untouched = untouched
            return
        }
        let object = UnsafeRawBufferPointer(rebasing: data[start..<ValidJSON.trimmedEnd(data)])
        untouched = []
        // Canonical writing descends into every nested value: indexed once, each end is a lookup, not a scan
        // per level of nesting.
        scratch.ends.index(object)
        let members = scratch.collect(object)
        var isNamed: [Bool] = []
        var decodedKeys: [String?] = []
        isNamed.reserveCapacity(members.end - members.start)
        for index in scratch.indices(members) {
            let member = scratch[index]
            let literal = UnsafeRawBufferPointer(rebasing: object[member.key])
            decodedKeys.append(member.decoded == nil ? nil : try RawJSON.decodeString(literal))
            guard let slot = keys.index(quoted: literal, escaped: member.decoded != nil) else {
                isNamed.append(false)
                continue
            }
            isNamed.append(true)
            slots[slot] = .archived(member.value)
        }
        self.members = members
        self.named = MemberSlots(slots: slots, object: object)
        self.isNamed = isNamed
        self.decodedKeys = decodedKeys
    }

    /// Calls `member` with the key literal (quotes included) and value of each member of the object at `start`,
    /// finding their ends without validating them: the as-archived form's consumer validates the data it is
    /// given, which holds every member no rule names, as archived. False when the bytes are not shaped like an
    /// object (a missing colon, comma or brace, a value that cannot start JSON, text after the object).
    static func findMembers(
        _ data: UnsafeRawBufferPointer, from start: Int, _ member: (Range<Int>, Range<Int>) throws -> Void
    ) rethrows -> Bool {
        let count = data.count
        var at = ValidJSON.skipSpace(data, from: start + 1)
        if at < count, data[at] == UInt8(ascii: "}") {
            return ValidJSON.skipSpace(data, from: at + 1) == count
        }
        while at < count, data[at] == UInt8(ascii: "\"") {
            let keyEnd = ValidJSON.stringEnd(data, from: at)
            let colon = ValidJSON.skipSpace(data, from: keyEnd)
            guard keyEnd <= count, colon < count, data[colon] == UInt8(ascii: ":") else { return false }
            let valueStart = ValidJSON.skipSpace(data, from: colon + 1)
            guard valueStart < count, Self.startsValue(data[valueStart]) else { return false }
            let valueEnd = ValidJSON.valueEnd(data, from: valueStart)
            guard valueEnd > valueStart, valueEnd <= count else { return false }
            try member(at..<keyEnd, valueStart..<valueEnd)
            let next = ValidJSON.skipSpace(data, from: valueEnd)
            guard next < count else { return false }
            if data[next] == UInt8(ascii: "}") { return ValidJSON.skipSpace(data, from: next + 1) == count }
            guard data[next] == UInt8(ascii: ",") else { return false }
            at = ValidJSON.skipSpace(data, from: next + 1)
        }
        return false
    }

    /// True when the bytes from `end` to `start` are one comma, whitespace around it.
    private static func onlySeparates(_ data: UnsafeRawBufferPointer, _ end: Int, _ start: Int) -> Bool {
        let comma = ValidJSON.skipSpace(data, from: end)
        return comma < start && data[comma] == UInt8(ascii: ",") && ValidJSON.skipSpace(data, from: comma + 1) == start
    }

    /// True when `byte` can start a JSON value.
    private static func startsValue(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "{"), UInt8(ascii: "["), UInt8(ascii: "\""), UInt8(ascii: "-"),
            UInt8(ascii: "0")...UInt8(ascii: "9"),
            UInt8(ascii: "t"), UInt8(ascii: "f"), UInt8(ascii: "n"):
            return true
        default: return false
        }
    }

    /// Drops the frame this value collected (and any collected after it), and the index of `data`; hands the
    /// room of its slots and runs back to `buffers`.
    mutating func release(_ scratch: inout MemberScratch, into buffers: inout Buffers) {
        swap(&named.slots, &buffers.slots)
        swap(&untouched, &buffers.untouched)
        guard let members else { return }
        scratch.release(members)
        scratch.ends.clear()
    }

    /// Appends the object with the named members as the edits left them and the others, in ``form``.
    func write(to out: inout [UInt8], scratch: inout MemberScratch) {
        guard let members else { return writeAsArchived(to: &out, scratch: &scratch) }
        var next = nextPresent(from: 0)
        var first = true
        func separate() {
            out.append(first ? UInt8(ascii: "{") : UInt8(ascii: ","))
            first = false
        }
        for (offset, index) in scratch.indices(members).enumerated() where !isNamed[offset] {
            // The named and the other members have different keys: merge the two sorted lists.
            while next < keys.keys.count, precedes(keys.keys[next], member: index, offset: offset, scratch) {
                separate()
                append(next, to: &out, scratch: &scratch)
                next = nextPresent(from: next + 1)
            }
            separate()
            scratch.appendKey(index, of: object, to: &out)
            out.append(UInt8(ascii: ":"))
            CanonicalJSON.append(scratch.value(index, of: object), to: &out, members: &scratch)
        }
        while next < keys.keys.count {
            separate()
            append(next, to: &out, scratch: &scratch)
            next = nextPresent(from: next + 1)
        }
        if first { out.append(UInt8(ascii: "{")) }
        out.append(UInt8(ascii: "}"))
    }

    /// The first named member from `start` on that is present (the count of keys when none is).
    private func nextPresent(from start: Int) -> Int {
        var slot = start
        while slot < named.slots.count, named.slots[slot].isAbsent { slot += 1 }
        return slot
    }

    /// The members no rule names as archived (whitespace and all), then the named ones.
    private func writeAsArchived(to out: inout [UInt8], scratch: inout MemberScratch) {
        out.append(UInt8(ascii: "{"))
        for (index, range) in untouched.enumerated() {
            if index > 0 { out.append(UInt8(ascii: ",")) }
            out.append(contentsOf: UnsafeRawBufferPointer(rebasing: object[range]))
        }
        var slot = nextPresent(from: 0)
        var separated = untouched.isEmpty
        while slot < keys.keys.count {
            if !separated { out.append(UInt8(ascii: ",")) }
            separated = false
            append(slot, to: &out, scratch: &scratch)
            slot = nextPresent(from: slot + 1)
        }
        out.append(UInt8(ascii: "}"))
    }

    private func precedes(_ key: String, member index: Int, offset: Int, _ scratch: MemberScratch) -> Bool {
        if let decoded = decodedKeys[offset] { return key.utf8.lexicographicallyPrecedes(decoded.utf8) }
        let literal = scratch[index].key
        let text = UnsafeRawBufferPointer(rebasing: object[(literal.lowerBound + 1)..<(literal.upperBound - 1)])
        var key = key
        return key.withUTF8 { MemberScratch.compare(UnsafeRawBufferPointer($0), text) < 0 }
    }

    /// Appends named member `slot`: its value as archived in the as-archived form, canonical otherwise.
    private func append(_ slot: Int, to out: inout [UInt8], scratch: inout MemberScratch) {
        out.append(contentsOf: keys.quoted[slot])
        out.append(UInt8(ascii: ":"))
        named.write(named.slots[slot], asArchived: form == .asArchived, to: &out, scratch: &scratch)
    }
}
