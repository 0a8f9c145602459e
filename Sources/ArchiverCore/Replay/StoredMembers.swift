import RawJSON

/// The members of an object in stored form (``RawMergePatch``), one at a time, for a merge that walks the target
/// once: no whitespace, keys canonical and strictly ascending, values canonical or deferred.
///
/// The object's end is not known in advance (the bytes may run on into the rest of the state): it is where the
/// walk meets the closing brace. A member the merge descends into is walked by the nested merge, which gives its
/// end; no value is scanned twice.
struct StoredMembers {
    /// Starts at the object's `{`.
    let object: UnsafeRawBufferPointer
    /// The offset of the current member's key, or of the closing brace when every member was passed.
    private(set) var at = 1
    /// The offset after the current key's closing quote.
    private(set) var keyEnd = 1
    /// The current key's ``MemberScratch/prefix(_:)``.
    private(set) var prefix: UInt64 = 0
    /// The current key's text when its literal has escapes (rare: keys with quotes, backslashes or controls).
    private var decoded: [UInt8]?

    init(_ object: UnsafeRawBufferPointer) {
        self.object = object
        load()
    }

    var isFinished: Bool { object[at] == UInt8(ascii: "}") }

    /// The offset after the closing brace, once finished.
    var end: Int { at + 1 }

    /// Where the current member's value starts (after the colon).
    var valueStart: Int { keyEnd + 1 }

    /// Compares patch member `index` of `patch` with the current key: <0, 0 or >0.
    func compare(_ members: MemberScratch, _ index: Int, of patch: UnsafeRawBufferPointer) -> Int {
        if let decoded {
            return decoded.withUnsafeBytes { members.compareKey(index, of: patch, to: $0, prefix: prefix) }
        }
        let text = UnsafeRawBufferPointer(rebasing: object[(at + 1)..<(keyEnd - 1)])
        return members.compareKey(index, of: patch, to: text, prefix: prefix)
    }

    /// Moves to the next member, the current value ending at `valueEnd`.
    mutating func advance(pastValueEndingAt valueEnd: Int) {
        at = object[valueEnd] == UInt8(ascii: ",") ? valueEnd + 1 : valueEnd
        load()
    }

    /// The end of the current value, found by scanning it (a value the merge does not descend into).
    func valueEnd() -> Int { ValidJSON.valueEnd(object, from: valueStart) }

    private mutating func load() {
        guard !isFinished else { return }
        keyEnd = ValidJSON.stringEnd(object, from: at)
        let text = UnsafeRawBufferPointer(rebasing: object[(at + 1)..<(keyEnd - 1)])
        if !ValidJSON.hasBackslash(text) {
            decoded = nil
            prefix = MemberScratch.prefix(in: object, (at + 1)..<(keyEnd - 1))
            return
        }
        let literal = UnsafeRawBufferPointer(rebasing: object[at..<keyEnd])
        let key = Array(((try? RawJSON.decodeString(literal)) ?? "").utf8)
        decoded = key
        prefix = key.withUnsafeBytes { MemberScratch.prefix($0) }
    }
}
