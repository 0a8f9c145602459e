import Hummingbird

/// Path parameters, percent-decoded exactly once: `/streams/acct%2F7/events` names the stream `acct/7`, the
/// same stream the CLI's `acct/7` names.
enum PathParameter {
    /// The decoded value of the parameter `name`.
    /// - Throws: ``APIError`` 422 when the segment is not valid percent-encoding of UTF-8.
    static func value(_ name: String, in context: BasicRequestContext) throws -> String {
        let raw = try context.parameters.require(name)
        guard let decoded = percentDecoded(raw) else {
            throw APIError(
                .unprocessableContent, "invalid-input",
                "the \(name) in the path is not valid percent-encoding: write each byte that is not a letter, digit or "
                    + "-._~ as %XX (two hex digits) of its UTF-8")
        }
        return decoded
    }

    /// `text` with every `%XX` replaced by its byte; nil when a `%` is not followed by two hex digits or the bytes
    /// are not UTF-8. A `+` stays a `+` (that rule is for forms, not paths).
    static func percentDecoded(_ text: String) -> String? {
        let input = Array(text.utf8)
        guard input.contains(UInt8(ascii: "%")) else { return text }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(input.count)
        var i = 0
        while i < input.count {
            guard input[i] == UInt8(ascii: "%") else {
                bytes.append(input[i])
                i += 1
                continue
            }
            guard i + 2 < input.count, let high = hexValue(input[i + 1]), let low = hexValue(input[i + 2]) else {
                return nil
            }
            bytes.append(high << 4 | low)
            i += 3
        }
        return String(validating: bytes, as: UTF8.self)
    }

    private static func hexValue(_ c: UInt8) -> UInt8? {
        switch c {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): c - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): c - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): c - UInt8(ascii: "A") + 10
        default: nil
        }
    }
}
