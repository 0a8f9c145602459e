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
        /// As archived, for a ``ValueOnlyProjection``: canonicalising them would be done twice.
        case asArchived
    }

    /// The members the rules may read or write, as an object for ``UpcastEvent/data``.
    let named: JSONValue
    let form: Form
    /// The frame of `scratch` holding every member of the object, sorted by key, the last of duplicates kept.
    private let members: MemberList
    private let object: UnsafeRawBufferPointer
    /// Whether member `i` of the frame (counted from its start) is one of `named`'s.
    private let isNamed: [Bool]
    /// The decoded key of member `i` when its literal has escapes (to order it among the named keys).
    private let decodedKeys: [String?]

    /// Nil when `data` is not an object. `data` must be valid JSON; it must outlive the value, as must the
    /// frame collected in `scratch` (release it with ``release(_:)``).
    init?(
        _ data: UnsafeRawBufferPointer, names: UpcastTouchedKeys, form: Form, scratch: inout MemberScratch
    ) throws {
        let start = ValidJSON.skipSpace(data, from: 0)
        guard data[start] == UInt8(ascii: "{") else { return nil }
        object = UnsafeRawBufferPointer(rebasing: data[start..<ValidJSON.trimmedEnd(data)])
        self.form = form
        // Canonical writing descends into every nested value: indexed once, each end is a lookup, not a scan
        // per level of nesting.
        if form == .canonical { scratch.ends.index(object) }
        members = scratch.collect(object)
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
        self.named = .object(named)
        self.isNamed = isNamed
        self.decodedKeys = decodedKeys
    }

    /// Drops the frame this value collected (and any collected after it), and the index of `data`.
    func release(_ scratch: inout MemberScratch) {
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
            switch form {
            case .canonical: CanonicalJSON.append(scratch.value(index, of: object), to: &out, members: &scratch)
            case .asArchived: out.append(contentsOf: scratch.value(index, of: object))
            }
        }
        for key in keys[next...] {
            separate()
            Self.append(key, changed[key]!, to: &out)
        }
        if first { out.append(UInt8(ascii: "{")) }
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
