import Foundation
import RawJSON

/// Writes JSON that is already known to be valid in the fold's canonical form, the form ``JSONValue/serialize()``
/// gives: no whitespace, object keys sorted by their UTF-8 bytes (the last of duplicate keys wins), strings
/// quoted as ``RawJSON/appendQuoted(_:to:)`` quotes them, numbers as written.
///
/// Works on the bytes without building a tree: values already in that form (most are) are copied.
enum CanonicalJSON {
    /// Appends the canonical form of `value` (exactly one valid JSON value, whitespace allowed inside, or a value
    /// in stored form).
    static func append(_ value: UnsafeRawBufferPointer, to out: inout [UInt8], members: inout MemberScratch) {
        switch value[0] {
        case UInt8(ascii: "\""): appendString(value, to: &out)
        case UInt8(ascii: "["): appendArray(value, to: &out, members: &members)
        case UInt8(ascii: "{"):
            let list = members.collect(value)
            appendObject(list, in: value, to: &out, members: &members)
            members.release(list)
        case DeferredValue.marker: append(DeferredValue.json(value), to: &out, members: &members)
        default: out.append(contentsOf: value)  // numbers keep their literal text; true, false, null
        }
    }

    /// Appends the canonical form of a fold state in stored form (``RawMergePatch``): a copy when it holds no
    /// deferred value.
    static func appendStored(_ state: UnsafeRawBufferPointer, to out: inout [UInt8], members: inout MemberScratch) {
        if memchr(state.baseAddress!, Int32(DeferredValue.marker), state.count) == nil {
            out.append(contentsOf: state)
        } else {
            append(state, to: &out, members: &members)
        }
    }

    /// Appends a string literal (quotes included) as ``RawJSON/appendQuoted(_:to:)`` would write its text.
    static func appendString(_ literal: UnsafeRawBufferPointer, to out: inout [UInt8]) {
        if isCanonicalString(literal) {
            out.append(contentsOf: literal)
            return
        }
        // An escape that appendQuoted writes differently (`\/`, `\u…`): decode and quote again.
        let text = (try? RawJSON.decodeString(literal)) ?? ""
        RawJSON.appendQuoted(text, to: &out)
    }

    /// True when every escape in the literal is one appendQuoted writes itself: `\"`, `\\`, `\n`, `\r`, `\t`,
    /// `\b`, `\f` (raw control characters cannot occur in valid JSON).
    static func isCanonicalString(_ literal: UnsafeRawBufferPointer) -> Bool {
        if !ValidJSON.hasBackslash(literal) { return true }
        let base = literal.baseAddress!
        var at = 1
        let end = literal.count - 1
        while at < end {
            guard let found = memchr(base + at, 0x5C, end - at) else { return true }
            let slash = base.distance(to: UnsafeRawPointer(found))
            switch literal[slash + 1] {
            case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "n"), UInt8(ascii: "r"), UInt8(ascii: "t"),
                UInt8(ascii: "b"), UInt8(ascii: "f"):
                at = slash + 2
            default: return false
            }
        }
        return true
    }

    private static func appendArray(
        _ value: UnsafeRawBufferPointer, to out: inout [UInt8], members: inout MemberScratch
    ) {
        out.append(UInt8(ascii: "["))
        var at = ValidJSON.skipSpace(value, from: 1)
        var first = true
        while value[at] != UInt8(ascii: "]") {
            if !first { out.append(UInt8(ascii: ",")) }
            first = false
            let end = members.ends.valueEnd(value, from: at)
            append(UnsafeRawBufferPointer(rebasing: value[at..<end]), to: &out, members: &members)
            at = ValidJSON.skipSpace(value, from: end)
            if value[at] == UInt8(ascii: ",") { at = ValidJSON.skipSpace(value, from: at + 1) }
        }
        out.append(UInt8(ascii: "]"))
    }

    /// Appends an object from its sorted, deduplicated members, keeping `null` values (an object inside an
    /// array, or a saved state, is a value, not a patch).
    static func appendObject(
        _ list: MemberList, in object: UnsafeRawBufferPointer, to out: inout [UInt8], members: inout MemberScratch
    ) {
        out.append(UInt8(ascii: "{"))
        for index in members.indices(list) {
            if index > list.start { out.append(UInt8(ascii: ",")) }
            members.appendKey(index, of: object, to: &out)
            out.append(UInt8(ascii: ":"))
            append(members.value(index, of: object), to: &out, members: &members)
        }
        out.append(UInt8(ascii: "}"))
    }
}
