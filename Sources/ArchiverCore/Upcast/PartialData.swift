import Foundation
import RawJSON

/// An event's `data` object taken apart only as far as a rule set reads it: the top-level members whose keys
/// start a pointer of some rule become a tree the steps work on; every other member stays bytes and is written
/// back without a tree (most of a large event is something no rule reads).
///
/// In the ``Form/canonical`` form the output is the bytes ``JSONValue/serialize()`` would give for the whole
/// upcast object; in the ``Form/asArchived`` form the members no rule names keep their archived bytes (same
/// JSON value, for consumers that canonicalise what they are given anyway).
struct PartialData {
    /// How the members no rule names are written.
    enum Form {
        /// In canonical form: every consumer that sees the bytes (reads, export, `--exec`, Swift projections).
        case canonical
        /// As archived, for a ``DataValueProjection``: it canonicalises them itself.
        case asArchived
    }

    /// The members the rules may read or write, as an object for ``UpcastEvent/data``.
    let named: JSONValue
    let form: Form
    private let object: UnsafeRawBufferPointer
    /// Canonical form: the frame of `scratch` holding every member of the object, sorted by key, the last of
    /// duplicates kept.
    private let members: MemberList?
    /// Canonical form: whether member `i` of the frame (counted from its start) is one of `named`'s.
    private let isNamed: [Bool]
    /// Canonical form: the decoded key of member `i` when its literal has escapes (to order it among the named
    /// keys).
    private let decodedKeys: [String?]
    /// As-archived form: the bytes (key to value) of each member no rule names, in archived order.
    private let untouched: [Range<Int>]

    /// Nil when `data` is not an object; it must outlive the value, as must the frame collected in `scratch`
    /// (release it with ``release(_:)``). In the canonical form `data` must be valid JSON; in the as-archived
    /// form it is validated here, in the one pass that finds its members.
    /// - Throws: what ``RawJSON`` throws for JSON that is not valid.
    init?(
        _ data: UnsafeRawBufferPointer, names: UpcastTouchedKeys, form: Form, scratch: inout MemberScratch
    ) throws {
        let start = ValidJSON.skipSpace(data, from: 0)
        guard start < data.count, data[start] == UInt8(ascii: "{") else { return nil }
        self.form = form
        guard form == .canonical else {
            object = data
            (members, isNamed, decodedKeys) = (nil, [], [])
            var named: [String: JSONValue] = [:]
            var untouched: [Range<Int>] = []
            var scanner = try ObjectScanner(data)
            while let member = try scanner.next() {
                let literal = (member.key.lowerBound - 1)..<(member.key.upperBound + 1)
                let quoted = UnsafeRawBufferPointer(rebasing: data[literal])
                let escaped = memchr(quoted.baseAddress!, 0x5C, quoted.count) != nil
                if let key = names.name(quoted: quoted, escaped: escaped) {
                    named[key] = try JSONValue.parse(scanner.value(member))
                } else {
                    untouched.append(literal.lowerBound..<member.value.upperBound)
                }
            }
            self.named = .object(named)
            self.untouched = untouched
            return
        }
        object = UnsafeRawBufferPointer(rebasing: data[start..<ValidJSON.trimmedEnd(data)])
        untouched = []
        // Canonical writing descends into every nested value: indexed once, each end is a lookup, not a scan
        // per level of nesting.
        scratch.ends.index(object)
        let members = scratch.collect(object)
        var named: [String: JSONValue] = [:]
        var isNamed: [Bool] = []
        var decodedKeys: [String?] = []
        isNamed.reserveCapacity(members.end - members.start)
        for index in scratch.indices(members) {
            let member = scratch[index]
            let literal = UnsafeRawBufferPointer(rebasing: object[member.key])
            decodedKeys.append(member.decoded == nil ? nil : try RawJSON.decodeString(literal))
            guard let key = names.name(quoted: literal, escaped: member.decoded != nil) else {
                isNamed.append(false)
                continue
            }
            isNamed.append(true)
            named[key] = try JSONValue.parse(scratch.value(index, of: object))
        }
        self.members = members
        self.named = .object(named)
        self.isNamed = isNamed
        self.decodedKeys = decodedKeys
    }

    /// Drops the frame this value collected (and any collected after it), and the index of `data`.
    func release(_ scratch: inout MemberScratch) {
        guard let members else { return }
        scratch.release(members)
        scratch.ends.clear()
    }

    /// Appends `upcast` (the object ``named`` became) with the members no rule names, in ``form``: the named
    /// ones always canonical, the others as the form says.
    func write(_ upcast: JSONValue, to out: inout [UInt8], scratch: inout MemberScratch) {
        guard case .object(let changed) = upcast else {
            // Steps keep `data` an object (their pointers name members); anything else stands alone.
            return upcast.write(to: &out)
        }
        let keys = changed.keys.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }
        guard let members else { return writeAsArchived(keys, changed, to: &out) }
        var next = 0
        var first = true
        func separate() {
            out.append(first ? UInt8(ascii: "{") : UInt8(ascii: ","))
            first = false
        }
        for (offset, index) in scratch.indices(members).enumerated() where !isNamed[offset] {
            // The named and the other members have different keys: merge the two sorted lists.
            while next < keys.count, precedes(keys[next], member: index, offset: offset, scratch) {
                separate()
                Self.append(keys[next], changed[keys[next]]!, to: &out)
                next += 1
            }
            separate()
            scratch.appendKey(index, of: object, to: &out)
            out.append(UInt8(ascii: ":"))
            CanonicalJSON.append(scratch.value(index, of: object), to: &out, members: &scratch)
        }
        for key in keys[next...] {
            separate()
            Self.append(key, changed[key]!, to: &out)
        }
        if first { out.append(UInt8(ascii: "{")) }
        out.append(UInt8(ascii: "}"))
    }

    /// The members no rule names as archived (whitespace and all), then the named ones in canonical form.
    private func writeAsArchived(_ keys: [String], _ changed: [String: JSONValue], to out: inout [UInt8]) {
        out.append(UInt8(ascii: "{"))
        for (index, range) in untouched.enumerated() {
            if index > 0 { out.append(UInt8(ascii: ",")) }
            out.append(contentsOf: UnsafeRawBufferPointer(rebasing: object[range]))
        }
        for (index, key) in keys.enumerated() {
            if index > 0 || !untouched.isEmpty { out.append(UInt8(ascii: ",")) }
            Self.append(key, changed[key]!, to: &out)
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

    private static func append(_ key: String, _ value: JSONValue, to out: inout [UInt8]) {
        RawJSON.appendQuoted(key, to: &out)
        out.append(UInt8(ascii: ":"))
        value.write(to: &out)
    }
}
