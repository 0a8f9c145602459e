import RawJSON

/// The end of every string and container in one valid JSON buffer, found in one pass.
///
/// Canonicalizing a whole value (a state restored from a saved row) asks for the end of a nested value once per
/// level it descends through (a member's value, then that object's members, then their arrays' elements…):
/// without the index, the bytes of a value three levels down were scanned three times over. With it, each is
/// found by one lookup. A merge indexes its patch in the pass that validates it (``validateAndIndex(_:)``).
struct ValueEnds {
    private var base: UnsafeRawPointer?
    private var count = 0
    /// `ends[i]`: the offset after the string or container that starts at offset `i`, or any value when
    /// `scalars` (other entries unused).
    private var ends: [Int32] = []
    /// True when the index holds the ends of numbers and literals too (the validating pass records them).
    private var scalars = false
    private var open: [Int32] = []

    /// Indexes `bytes` (one valid JSON value, whitespace allowed), replacing the last index.
    mutating func index(_ bytes: UnsafeRawBufferPointer) {
        base = bytes.baseAddress
        count = bytes.count
        scalars = false
        guard count > 0, count < Int(Int32.max) else {
            base = nil
            return
        }
        if ends.count < count { ends = [Int32](repeating: 0, count: count + count / 2) }
        // Moved out while written (and back), so that the array stays uniquely referenced.
        var ends: [Int32] = []
        var open: [Int32] = []
        swap(&ends, &self.ends)
        swap(&open, &self.open)
        defer {
            swap(&ends, &self.ends)
            swap(&open, &self.open)
        }
        open.removeAll(keepingCapacity: true)
        var at = 0
        while at < count {
            switch bytes[at] {
            case UInt8(ascii: "\""):
                let end = ValidJSON.stringEnd(bytes, from: at)
                ends[at] = Int32(end)
                at = end
                continue
            case UInt8(ascii: "{"), UInt8(ascii: "["): open.append(Int32(at))
            case UInt8(ascii: "}"), UInt8(ascii: "]"):
                if let start = open.popLast() { ends[Int(start)] = Int32(at + 1) }
            default: break
            }
            at += 1
        }
    }

    /// Validates `bytes` (``RawJSON/validate(_:maxDepth:)``, with its errors) and indexes it in the same pass,
    /// replacing the last index.
    mutating func validateAndIndex(_ bytes: UnsafeRawBufferPointer) throws {
        base = nil
        count = bytes.count
        guard count > 0, count < Int(Int32.max) else { return try RawJSON.validate(bytes) }
        if ends.count < count { ends = [Int32](repeating: 0, count: count + count / 2) }
        try ends.withUnsafeMutableBufferPointer { try RawJSON.validate(bytes, recordingEndsIn: $0.baseAddress!) }
        base = bytes.baseAddress
        scalars = true
    }

    /// Forgets the indexed buffer (its memory may hold other bytes later).
    mutating func clear() { base = nil }

    /// The end of the value at `start` in `bytes` (a part of valid JSON), from the index when `bytes` lies in
    /// the indexed buffer and the index holds the value's kind, else by scanning.
    func valueEnd(_ bytes: UnsafeRawBufferPointer, from start: Int) -> Int {
        switch bytes[start] {
        case UInt8(ascii: "\""), UInt8(ascii: "{"), UInt8(ascii: "["):
            if let shift = offset(of: bytes) { return Int(ends[shift + start]) - shift }
        case DeferredValue.marker: break  // never in an indexed buffer (a state, not a patch)
        default:
            if scalars, let shift = offset(of: bytes) { return Int(ends[shift + start]) - shift }
        }
        return ValidJSON.valueEnd(bytes, from: start)
    }

    /// The end of the string literal at `start` in `bytes`.
    func stringEnd(_ bytes: UnsafeRawBufferPointer, from start: Int) -> Int {
        if let shift = offset(of: bytes) { return Int(ends[shift + start]) - shift }
        return ValidJSON.stringEnd(bytes, from: start)
    }

    /// Where `bytes` starts in the indexed buffer, when it lies inside it.
    private func offset(of bytes: UnsafeRawBufferPointer) -> Int? {
        guard let base, let start = bytes.baseAddress, start >= base, start + bytes.count <= base + count else {
            return nil
        }
        return start - base
    }
}
