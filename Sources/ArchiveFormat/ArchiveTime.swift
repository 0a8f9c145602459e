internal import RawJSON

/// UTC calendar arithmetic without Foundation's formatters (they cost microseconds per call, and the
/// flusher formats one timestamp per event).
public enum ArchiveTime {
    /// Days since 1970-01-01 → (year, month, day), proleptic Gregorian (Howard Hinnant's `civil_from_days`).
    @inlinable
    public static func civil(fromDays days: Int64) -> (year: Int64, month: Int64, day: Int64) {
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365
        let y = yoe + era * 400
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let d = doy - (153 * mp + 2) / 5 + 1
        let m = mp < 10 ? mp + 3 : mp - 9
        return (m <= 2 ? y + 1 : y, m, d)
    }

    /// (year, month, day) → days since 1970-01-01 (`days_from_civil`).
    @inlinable
    public static func days(year: Int64, month: Int64, day: Int64) -> Int64 {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let mp = month > 2 ? month - 3 : month + 9
        let doy = (153 * mp + 2) / 5 + day - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146_097 + doe - 719_468
    }

    /// Appends `YYYY-MM-DDTHH:MM:SS.ffffffZ` (always 6 fractional digits: microseconds) for `nanos` since the epoch.
    public static func appendRFC3339Micros(_ nanos: Int64, to out: inout [UInt8]) {
        RawJSON.appendWritten(to: &out, atMost: rfc3339MicrosCount) { writeRFC3339Micros(nanos, to: $0) }
    }

    /// The length of `YYYY-MM-DDTHH:MM:SS.ffffffZ`: every Int64 of nanoseconds falls in years 1677-2262.
    public static let rfc3339MicrosCount = 27

    /// Writes ``appendRFC3339Micros(_:to:)``'s text at `out` (room for ``rfc3339MicrosCount`` bytes); returns
    /// ``rfc3339MicrosCount``.
    @inline(__always)
    public static func writeRFC3339Micros(_ nanos: Int64, to out: UnsafeMutableRawPointer) -> Int {
        let micros = floorDiv(nanos, 1000)
        let seconds = floorDiv(micros, 1_000_000)
        var p = out + writeDateTime(seconds: seconds, to: out)
        p.storeBytes(of: UInt8(ascii: "."), as: UInt8.self)
        p += 1
        p += writeDigits(micros - seconds * 1_000_000, width: 6, to: p)
        p.storeBytes(of: UInt8(ascii: "Z"), as: UInt8.self)
        return p + 1 - out
    }

    /// `YYYY-MM-DDTHH:MM:SS.ffffffZ` as a String.
    public static func rfc3339Micros(_ nanos: Int64) -> String {
        var out: [UInt8] = []
        appendRFC3339Micros(nanos, to: &out)
        return String(decoding: out, as: UTF8.self)
    }

    /// Lode's `created_at` form: UTC, up to 9 fractional digits with trailing zeros trimmed
    /// (`LODE_FORMAT.md` §3.1, §8 A8).
    public static func rfc3339Trimmed(_ nanos: Int64) -> String {
        let seconds = floorDiv(nanos, 1_000_000_000)
        var fraction = nanos - seconds * 1_000_000_000
        var out: [UInt8] = []
        appendDateTime(seconds: seconds, to: &out)
        if fraction > 0 {
            var width = 9
            while fraction % 10 == 0 {
                fraction /= 10
                width -= 1
            }
            out.append(UInt8(ascii: "."))
            appendDigits(fraction, width: width, to: &out)
        }
        out.append(UInt8(ascii: "Z"))
        return String(decoding: out, as: UTF8.self)
    }

    /// `YYYY-MM-DD` for the UTC day of `nanos`.
    public static func day(ofNanos nanos: Int64) -> String {
        var out: [UInt8] = []
        appendDate(days: floorDiv(nanos, 86_400_000_000_000), to: &out)
        return String(decoding: out, as: UTF8.self)
    }

    /// Parses RFC 3339 (`T` or `t` or space, `Z` or ±HH:MM, 0–9 fractional digits) to nanoseconds since the epoch.
    public static func parseRFC3339(_ text: String) -> Int64? {
        var text = text
        return text.withUTF8 { parseRFC3339(bytes: UnsafeRawBufferPointer($0)) }
    }

    /// ``parseRFC3339(_:)`` over UTF-8 bytes, without allocating.
    public static func parseRFC3339(bytes b: UnsafeRawBufferPointer) -> Int64? {
        @inline(__always) func num(_ from: Int, _ count: Int) -> Int64? {
            guard from + count <= b.count else { return nil }
            var v: Int64 = 0
            for i in from..<(from + count) {
                guard b[i] >= 48 && b[i] <= 57 else { return nil }
                v = v * 10 + Int64(b[i] - 48)
            }
            return v
        }
        guard b.count >= 20, let year = num(0, 4), b[4] == 45, let month = num(5, 2), b[7] == 45,
            let day = num(8, 2), b[10] == 84 || b[10] == 116 || b[10] == 32, let hour = num(11, 2), b[13] == 58,
            let minute = num(14, 2), b[16] == 58, let second = num(17, 2),
            (1...12).contains(month), (1...31).contains(day), hour < 24, minute < 60, second < 61
        else { return nil }
        var i = 19
        var nanos: Int64 = 0
        if i < b.count && b[i] == 46 {
            i += 1
            var digits = 0
            while i < b.count && b[i] >= 48 && b[i] <= 57 {
                if digits < 9 {
                    nanos = nanos * 10 + Int64(b[i] - 48)
                    digits += 1
                }
                i += 1
            }
            guard digits > 0 else { return nil }
            for _ in digits..<9 { nanos *= 10 }
        }
        guard i < b.count else { return nil }
        var offsetSeconds: Int64 = 0
        if b[i] == 90 || b[i] == 122 {
            i += 1
        } else if b[i] == 43 || b[i] == 45 {
            guard let oh = num(i + 1, 2), b.count > i + 3, b[i + 3] == 58, let om = num(i + 4, 2) else { return nil }
            offsetSeconds = (oh * 3600 + om * 60) * (b[i] == 45 ? -1 : 1)
            i += 6
        } else {
            return nil
        }
        guard i == b.count else { return nil }
        let seconds = days(year: year, month: month, day: day) * 86_400 + hour * 3600 + minute * 60 + second
        return (seconds - offsetSeconds) * 1_000_000_000 + nanos
    }

    @inline(__always)
    static func floorDiv(_ a: Int64, _ b: Int64) -> Int64 {
        let q = a / b
        return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q
    }

    /// `YYYY-MM-DDTHH:MM:SS` for whole seconds since the epoch.
    static func appendDateTime(seconds: Int64, to out: inout [UInt8]) {
        RawJSON.appendWritten(to: &out, atMost: 19) { writeDateTime(seconds: seconds, to: $0) }
    }

    static func appendDate(days: Int64, to out: inout [UInt8]) {
        RawJSON.appendWritten(to: &out, atMost: 10) { writeDate(days: days, to: $0) }
    }

    static func appendDigits(_ value: Int64, width: Int, to out: inout [UInt8]) {
        RawJSON.appendWritten(to: &out, atMost: width) { writeDigits(value, width: width, to: $0) }
    }

    /// Writes `YYYY-MM-DDTHH:MM:SS` (19 bytes) at `out`; returns 19.
    @inline(__always)
    static func writeDateTime(seconds: Int64, to out: UnsafeMutableRawPointer) -> Int {
        let days = floorDiv(seconds, 86_400)
        let secondOfDay = seconds - days * 86_400
        _ = writeDate(days: days, to: out)
        writeField(secondOfDay / 3600, after: "T", at: 10, in: out)
        writeField(secondOfDay / 60 % 60, after: ":", at: 13, in: out)
        writeField(secondOfDay % 60, after: ":", at: 16, in: out)
        return 19
    }

    /// Writes `YYYY-MM-DD` (10 bytes) at `out`; returns 10.
    @inline(__always)
    static func writeDate(days: Int64, to out: UnsafeMutableRawPointer) -> Int {
        let (y, m, d) = civil(fromDays: days)
        _ = writeDigits(y, width: 4, to: out)
        writeField(m, after: "-", at: 4, in: out)
        writeField(d, after: "-", at: 7, in: out)
        return 10
    }

    /// Writes `separator` at `offset` of `out`, then `value` as two digits.
    @inline(__always)
    private static func writeField(
        _ value: Int64, after separator: Unicode.Scalar, at offset: Int, in out: UnsafeMutableRawPointer
    ) {
        out.storeBytes(of: UInt8(ascii: separator), toByteOffset: offset, as: UInt8.self)
        _ = writeDigits(value, width: 2, to: out + offset + 1)
    }

    /// Writes the last `width` decimal digits of `value` (zero-padded) at `out`; returns `width`.
    @inline(__always)
    static func writeDigits(_ value: Int64, width: Int, to out: UnsafeMutableRawPointer) -> Int {
        var v = value
        for i in stride(from: width - 1, through: 0, by: -1) {
            out.storeBytes(of: UInt8(48 + v % 10), toByteOffset: i, as: UInt8.self)
            v /= 10
        }
        return width
    }
}
