/// A value of a fold state kept as the patch wrote it, to be put in canonical form only when the row is written.
///
/// Arrays and strings of a patch replace what was there whole, and the next patch often replaces them again:
/// canonicalizing them on every event (sorting the keys of each object in an array, re-quoting escapes) was a
/// third of the fold's time on nested events. Such a value is stored as a marker byte, its length, and its
/// bytes (valid JSON, whitespace allowed inside). The marker and the length bytes cannot occur in valid JSON
/// (a control byte, then bytes of 0x80 and up that are never a quote or bracket), so a scan that does not know
/// them still finds every structure, and ``end(_:from:)`` skips one without reading it.
enum DeferredValue {
    static let marker: UInt8 = 0x01
    /// The length is written in this many bytes of seven bits each (high bit set).
    private static let lengthBytes = 4
    private static let headerSize = 1 + lengthBytes
    /// Longer values are canonicalized at once.
    static let maximumLength = 1 << (7 * lengthBytes) - 1

    /// Appends `value` (one valid JSON value, at most ``maximumLength`` bytes) deferred.
    static func append(_ value: UnsafeRawBufferPointer, to out: inout [UInt8]) {
        out.append(marker)
        for shift in stride(from: 7 * (lengthBytes - 1), through: 0, by: -7) {
            out.append(0x80 | UInt8((value.count >> shift) & 0x7F))
        }
        out.append(contentsOf: value)
    }

    /// The end of the deferred value whose marker is at `start`.
    static func end(_ bytes: UnsafeRawBufferPointer, from start: Int) -> Int {
        var length = 0
        for at in (start + 1)..<(start + headerSize) { length = length << 7 | Int(bytes[at] & 0x7F) }
        return start + headerSize + length
    }

    /// The JSON of the deferred value that is `stored` (marker and length included).
    static func json(_ stored: UnsafeRawBufferPointer) -> UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(rebasing: stored[headerSize...])
    }
}
