import Foundation
import RawJSON

/// The members of one object being merged or written: a frame of ``MemberScratch``.
struct MemberList {
    var start: Int
    var end: Int
    fileprivate var keyMark: Int
}

/// Reusable room for the members of the objects the merge is inside of, one frame per nesting level (frames
/// are released in the reverse order of collection, so one flat array serves every depth without allocating).
///
/// A frame's members are sorted by key (UTF-8 bytes, escapes resolved) with duplicate keys removed, the last
/// one kept: the order and the rule of ``JSONValue``.
struct MemberScratch {
    struct Member {
        /// The key's literal, quotes included.
        var key: Range<Int>
        var value: Range<Int>
        /// The key's text in `decodedKeys` when its literal has escapes.
        var decoded: Range<Int>?
        /// The key's first eight bytes, big-endian, zero-padded: most keys differ there, so most comparisons
        /// are one integer comparison.
        var prefix: UInt64 = 0
    }

    private var items: [Member] = []
    private var decodedKeys: [UInt8] = []
    /// The ends of the values in a value being canonicalized whole (a restored state): ``collect(_:)`` looks
    /// them up instead of scanning each level again.
    var ends = ValueEnds()

    subscript(index: Int) -> Member { items[index] }

    func indices(_ list: MemberList) -> Range<Int> { list.start..<list.end }

    /// Collects the members of `object` (valid JSON, whitespace allowed) into a new frame.
    mutating func collect(_ object: UnsafeRawBufferPointer) -> MemberList {
        let start = items.count
        let keyMark = decodedKeys.count
        var at = ValidJSON.skipSpace(object, from: 1)
        while object[at] != UInt8(ascii: "}") {
            let keyEnd = ends.stringEnd(object, from: at)
            var decoded: Range<Int>? = nil
            var prefix: UInt64
            if ValidJSON.hasBackslash(UnsafeRawBufferPointer(rebasing: object[at..<keyEnd])) {
                let text = (try? RawJSON.decodeString(UnsafeRawBufferPointer(rebasing: object[at..<keyEnd]))) ?? ""
                let first = decodedKeys.count
                decodedKeys.append(contentsOf: text.utf8)
                decoded = first..<decodedKeys.count
                prefix = decodedKeys.withUnsafeBytes { Self.prefix(UnsafeRawBufferPointer(rebasing: $0[first...])) }
            } else {
                prefix = Self.prefix(in: object, (at + 1)..<(keyEnd - 1))
            }
            let valueStart = ValidJSON.skipSpace(object, from: ValidJSON.skipSpace(object, from: keyEnd) + 1)
            let valueEnd = ends.valueEnd(object, from: valueStart)
            items.append(Member(key: at..<keyEnd, value: valueStart..<valueEnd, decoded: decoded, prefix: prefix))
            at = ValidJSON.skipSpace(object, from: valueEnd)
            if object[at] == UInt8(ascii: ",") { at = ValidJSON.skipSpace(object, from: at + 1) }
        }
        if !isStrictlySorted(start, of: object) { sortAndDeduplicate(from: start, of: object) }
        return MemberList(start: start, end: items.count, keyMark: keyMark)
    }

    /// Drops `list` and every frame collected after it.
    mutating func release(_ list: MemberList) {
        items.removeSubrange(list.start...)
        decodedKeys.removeSubrange(list.keyMark...)
    }

    /// Compares member `a` of `objectA` with member `b` of `objectB` by key: <0, 0 or >0.
    func compareKeys(_ a: Int, of objectA: UnsafeRawBufferPointer, _ b: Int, of objectB: UnsafeRawBufferPointer) -> Int
    {
        let (memberA, memberB) = (items[a], items[b])
        if memberA.prefix != memberB.prefix { return memberA.prefix < memberB.prefix ? -1 : 1 }
        return decodedKeys.withUnsafeBytes { decoded in
            Self.compare(Self.key(memberA, objectA, decoded), Self.key(memberB, objectB, decoded))
        }
    }

    /// Compares member `index` of `object` with a key given as its text (escapes resolved) and its ``prefix(_:)``.
    func compareKey(
        _ index: Int, of object: UnsafeRawBufferPointer, to key: UnsafeRawBufferPointer, prefix: UInt64
    )
        -> Int
    {
        let member = items[index]
        if member.prefix != prefix { return member.prefix < prefix ? -1 : 1 }
        return decodedKeys.withUnsafeBytes { decoded in Self.compare(Self.key(member, object, decoded), key) }
    }

    /// Appends member `index`'s key literal as appendQuoted writes it.
    func appendKey(_ index: Int, of object: UnsafeRawBufferPointer, to out: inout [UInt8]) {
        let member = items[index]
        guard let decoded = member.decoded else {
            // No escapes: the literal is already what appendQuoted writes.
            out.append(contentsOf: UnsafeRawBufferPointer(rebasing: object[member.key]))
            return
        }
        decodedKeys.withUnsafeBytes { RawJSON.appendQuoted(UnsafeRawBufferPointer(rebasing: $0[decoded]), to: &out) }
    }

    func value(_ index: Int, of object: UnsafeRawBufferPointer) -> UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(rebasing: object[items[index].value])
    }

    /// True when the frame's keys strictly ascend (a canonical state always does; no sort, no duplicates).
    private func isStrictlySorted(_ start: Int, of object: UnsafeRawBufferPointer) -> Bool {
        guard items.count - start > 1 else { return true }
        return decodedKeys.withUnsafeBytes { decoded in
            for i in (start + 1)..<items.count where Self.order(items[i - 1], items[i], object, decoded) >= 0 {
                return false
            }
            return true
        }
    }

    private mutating func sortAndDeduplicate(from start: Int, of object: UnsafeRawBufferPointer) {
        let decodedKeys = self.decodedKeys
        let kept = decodedKeys.withUnsafeBytes { decoded in
            items.withUnsafeMutableBufferPointer { all in
                Self.sortAndDeduplicate(UnsafeMutableBufferPointer(rebasing: all[start...]), object, decoded)
            }
        }
        items.removeSubrange((start + kept)...)
    }

    /// Sorts `frame` by key and keeps the last of each run of equal keys at the front; returns how many.
    private static func sortAndDeduplicate(
        _ frame: UnsafeMutableBufferPointer<Member>, _ object: UnsafeRawBufferPointer,
        _ decoded: UnsafeRawBufferPointer
    ) -> Int {
        // Ties by position: the last of equal keys ends up last in its run.
        func precedes(_ a: Member, _ b: Member) -> Bool {
            let order = Self.order(a, b, object, decoded)
            return order != 0 ? order < 0 : a.value.lowerBound < b.value.lowerBound
        }
        guard frame.count > 1 else { return frame.count }
        if frame.count <= 24 {
            // Insertion sort: objects are small, and the library's sort allocates a buffer per call.
            for i in 1..<frame.count {
                let moving = frame[i]
                var j = i
                while j > 0 && precedes(moving, frame[j - 1]) {
                    frame[j] = frame[j - 1]
                    j -= 1
                }
                frame[j] = moving
            }
        } else {
            var frame = frame
            frame.sort(by: precedes)
        }
        var kept = 0
        for i in frame.indices where i + 1 == frame.count || Self.order(frame[i], frame[i + 1], object, decoded) != 0 {
            frame[kept] = frame[i]
            kept += 1
        }
        return kept
    }

    /// Compares two members of `object` by key: <0, 0 or >0.
    @inline(__always)
    private static func order(
        _ a: Member, _ b: Member, _ object: UnsafeRawBufferPointer, _ decoded: UnsafeRawBufferPointer
    ) -> Int {
        if a.prefix != b.prefix { return a.prefix < b.prefix ? -1 : 1 }
        return compare(key(a, object, decoded), key(b, object, decoded))
    }

    /// The first eight bytes of `key` as a big-endian integer, zero-padded: integers compare as the keys do,
    /// unless equal (then one key may still be longer, or differ later).
    /// ``prefix(_:)`` of the key at `range` in `bytes`: one load and a mask when eight bytes can be read there
    /// (a key is followed by at least its closing quote, a colon and a value, so most can).
    @inline(__always)
    static func prefix(in bytes: UnsafeRawBufferPointer, _ range: Range<Int>) -> UInt64 {
        guard range.lowerBound + 8 <= bytes.count else { return prefix(UnsafeRawBufferPointer(rebasing: bytes[range])) }
        let word = UInt64(bigEndian: bytes.loadUnaligned(fromByteOffset: range.lowerBound, as: UInt64.self))
        return range.count >= 8 ? word : word & ~(UInt64.max >> (range.count * 8))
    }

    static func prefix(_ key: UnsafeRawBufferPointer) -> UInt64 {
        if key.count >= 8 { return UInt64(bigEndian: key.loadUnaligned(as: UInt64.self)) }
        var prefix: UInt64 = 0
        for i in 0..<8 { prefix = prefix << 8 | (i < key.count ? UInt64(key[i]) : 0) }
        return prefix
    }

    private static func key(
        _ member: Member, _ object: UnsafeRawBufferPointer, _ decoded: UnsafeRawBufferPointer
    )
        -> UnsafeRawBufferPointer
    {
        if let range = member.decoded { return UnsafeRawBufferPointer(rebasing: decoded[range]) }
        return UnsafeRawBufferPointer(rebasing: object[(member.key.lowerBound + 1)..<(member.key.upperBound - 1)])
    }

    /// UTF-8 byte order, a prefix first.
    static func compare(_ a: UnsafeRawBufferPointer, _ b: UnsafeRawBufferPointer) -> Int {
        let shared = min(a.count, b.count)
        if shared <= 16 {
            // Keys are short: a loop beats a call to memcmp.
            for i in 0..<shared where a[i] != b[i] { return Int(a[i]) - Int(b[i]) }
        } else {
            let order = memcmp(a.baseAddress!, b.baseAddress!, shared)
            if order != 0 { return Int(order) }
        }
        return a.count - b.count
    }
}

/// Navigation inside JSON already validated: structure only, no checks.
enum ValidJSON {
    static func skipSpace(_ bytes: UnsafeRawBufferPointer, from start: Int) -> Int {
        var at = start
        while at < bytes.count {
            switch bytes[at] {
            case 0x20, 0x0A, 0x0D, 0x09: at += 1
            default: return at
            }
        }
        return at
    }

    /// The end of the string literal that starts at `start` (its opening quote), eight bytes at a time
    /// between quotes and backslashes, then straight to the first of them in the word.
    static func stringEnd(_ bytes: UnsafeRawBufferPointer, from start: Int) -> Int {
        var at = start + 1
        let count = bytes.count
        while true {
            while at + 8 <= count {
                let found = quoteOrBackslashBits(
                    UInt64(littleEndian: bytes.loadUnaligned(fromByteOffset: at, as: UInt64.self)))
                if found != 0 {
                    at += found.trailingZeroBitCount >> 3
                    break
                }
                at += 8
            }
            guard at < count else { return count }
            switch bytes[at] {
            case UInt8(ascii: "\""): return at + 1
            case UInt8(ascii: "\\"): at += 2
            default: at += 1
            }
        }
    }

    /// True when one of the eight bytes of `word` is `"` or `\` (the "has a zero byte" word trick on
    /// `word ^ repeated byte`: exact for the word as a whole).
    /// The high bit of each byte of `word` that is `"` or `\`, and possibly of bytes above the first such one
    /// (a borrow): the lowest bit set is exact.
    @inline(__always)
    static func quoteOrBackslashBits(_ word: UInt64) -> UInt64 {
        let ones: UInt64 = 0x0101_0101_0101_0101
        let quote = word ^ (ones &* 0x22)
        let backslash = word ^ (ones &* 0x5C)
        return ((quote &- ones) & ~quote | (backslash &- ones) & ~backslash) & 0x8080_8080_8080_8080
    }

    /// True when `bytes` holds a backslash: a word at a time and inline, as keys and short strings are most of
    /// what is asked (a call to memchr cost more than the search).
    @inline(__always)
    static func hasBackslash(_ bytes: UnsafeRawBufferPointer) -> Bool {
        let ones: UInt64 = 0x0101_0101_0101_0101
        var at = 0
        while at + 8 <= bytes.count {
            let word = bytes.loadUnaligned(fromByteOffset: at, as: UInt64.self) ^ (ones &* 0x5C)
            if (word &- ones) & ~word & 0x8080_8080_8080_8080 != 0 { return true }
            at += 8
        }
        while at < bytes.count {
            if bytes[at] == 0x5C { return true }
            at += 1
        }
        return false
    }

    /// The offset after `bytes`' last non-whitespace byte.
    static func trimmedEnd(_ bytes: UnsafeRawBufferPointer) -> Int {
        var end = bytes.count
        while end > 0,
            bytes[end - 1] == 0x20 || bytes[end - 1] == 0x0A || bytes[end - 1] == 0x0D || bytes[end - 1] == 0x09
        {
            end -= 1
        }
        return end
    }

    /// The end of the value that starts at `start`: the block scan of ``RawJSON/structuralEnd(of:from:)`` for
    /// an object or array (arrays a patch replaces are the largest values a fold meets), a byte loop for a
    /// scalar or string, the recorded end of a ``DeferredValue``.
    static func valueEnd(_ bytes: UnsafeRawBufferPointer, from start: Int) -> Int {
        switch bytes[start] {
        case DeferredValue.marker: return DeferredValue.end(bytes, from: start)
        case UInt8(ascii: "{"), UInt8(ascii: "["): return RawJSON.structuralEnd(of: bytes, from: start) ?? bytes.count
        default: break
        }
        var at = start
        var depth = 0
        while at < bytes.count {
            switch bytes[at] {
            case UInt8(ascii: "\""):
                at = stringEnd(bytes, from: at)
                if depth == 0 { return at }
                continue
            case UInt8(ascii: "{"), UInt8(ascii: "["): depth += 1
            case UInt8(ascii: "}"), UInt8(ascii: "]"):
                if depth == 0 { return at }  // the end of a scalar inside a container
                depth -= 1
                if depth == 0 { return at + 1 }
            case UInt8(ascii: ","), 0x20, 0x0A, 0x0D, 0x09:
                if depth == 0 { return at }
            default: break
            }
            at += 1
        }
        return at
    }
}
