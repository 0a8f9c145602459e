#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// An instant with nanosecond precision, parsed from and formatted as RFC 3339 like Go's `time.Time` JSON.
///
/// Kept as integers, never as `Date` (LODE_FORMAT.md §8 A8): `created_at` and the min/max timestamps survive
/// a round trip exactly. Manifests store the text; this type checks and converts it.
///
/// ```swift
/// let t = LodeTimestamp.parse("2026-01-01T00:00:00.130002Z")!
/// t.rfc3339 // "2026-01-01T00:00:00.130002Z"
/// ```
public struct LodeTimestamp: Sendable, Hashable, Comparable, CustomStringConvertible {
    /// Seconds since 1970-01-01T00:00:00Z.
    public var seconds: Int64
    /// Nanoseconds within the second, `0..<1_000_000_000`.
    public var nanoseconds: Int32

    public init(seconds: Int64, nanoseconds: Int32 = 0) {
        self.seconds = seconds
        self.nanoseconds = nanoseconds
    }

    /// - Parameter unixNanoseconds: nanoseconds since the Unix epoch (Go `UnixNano`).
    public init(unixNanoseconds: Int64) {
        var seconds = unixNanoseconds / 1_000_000_000
        var nanos = unixNanoseconds % 1_000_000_000
        if nanos < 0 {
            seconds -= 1
            nanos += 1_000_000_000
        }
        self.init(seconds: seconds, nanoseconds: Int32(nanos))
    }

    /// The current wall-clock time (`clock_gettime(CLOCK_REALTIME)`).
    public static func now() -> LodeTimestamp {
        var spec = timespec()
        clock_gettime(CLOCK_REALTIME, &spec)
        return LodeTimestamp(seconds: Int64(spec.tv_sec), nanoseconds: Int32(spec.tv_nsec))
    }

    /// Nanoseconds since the Unix epoch; `nil` outside Int64's range (before 1678 or after 2262).
    public var unixNanoseconds: Int64? {
        let (product, overflow) = seconds.multipliedReportingOverflow(by: 1_000_000_000)
        guard !overflow else { return nil }
        let (sum, overflow2) = product.addingReportingOverflow(Int64(nanoseconds))
        return overflow2 ? nil : sum
    }

    /// Go's zero `time.Time` (0001-01-01T00:00:00Z), which a manifest's `created_at` must not be.
    public var isZero: Bool { seconds == -62_135_596_800 && nanoseconds == 0 }

    public static func < (lhs: LodeTimestamp, rhs: LodeTimestamp) -> Bool {
        (lhs.seconds, lhs.nanoseconds) < (rhs.seconds, rhs.nanoseconds)
    }

    /// RFC 3339 in UTC with 0–9 fractional digits, trailing zeros trimmed (Go `time.RFC3339Nano`), e.g.
    /// `2026-01-01T00:00:00.130002Z` or `2026-01-01T00:00:00Z`.
    public var rfc3339: String {
        let days = seconds >= 0 ? seconds / 86_400 : (seconds - 86_399) / 86_400
        let secondOfDay = seconds - days * 86_400
        let (year, month, day) = Self.civil(fromDays: days)
        var text = Self.pad(year, 4) + "-" + Self.pad(month, 2) + "-" + Self.pad(day, 2) + "T"
        text += Self.pad(secondOfDay / 3600, 2) + ":" + Self.pad(secondOfDay / 60 % 60, 2) + ":"
        text += Self.pad(secondOfDay % 60, 2)
        if nanoseconds > 0 {
            var fraction = Self.pad(Int64(nanoseconds), 9)
            while fraction.hasSuffix("0") { fraction.removeLast() }
            text += "." + fraction
        }
        return text + "Z"
    }

    public var description: String { rfc3339 }

    /// `text` (valid RFC 3339, see ``parse(_:)``) as Go's `time.Time` JSON writes the same instant in the same
    /// zone: the fraction's trailing zeros trimmed, no `.` for a whole second (`time.RFC3339Nano`), so
    /// `2026-01-02T03:04:05.100000Z` becomes `2026-01-02T03:04:05.1Z`. The zone is kept as written (Go writes
    /// a time in its own location). `nil` when `text` is not RFC 3339.
    public static func goJSONForm(_ text: String) -> String? {
        guard parse(text) != nil else { return nil }
        let bytes = Array(text.utf8)
        // `YYYY-MM-DDTHH:MM:SS` is 19 bytes; a fraction follows at index 19 when present.
        guard bytes.count > 19, bytes[19] == UInt8(ascii: ".") else { return text }
        var end = 20
        while end < bytes.count, bytes[end] >= UInt8(ascii: "0"), bytes[end] <= UInt8(ascii: "9") { end += 1 }
        var last = end
        while last > 20, bytes[last - 1] == UInt8(ascii: "0") { last -= 1 }
        let kept = last > 20 ? bytes[..<last] : bytes[..<19]
        return String(decoding: kept + bytes[end...], as: UTF8.self)
    }

    /// Parses RFC 3339 the way Go's `time.Time.UnmarshalJSON` accepts it: `YYYY-MM-DDTHH:MM:SS`, an optional
    /// fraction of 1–9 digits, then `Z` or `±HH:MM`. Uppercase `T` and `Z` only; no leap second.
    /// - Returns: `nil` when the text is not such a timestamp.
    public static func parse(_ text: String) -> LodeTimestamp? {
        let b = Array(text.utf8)
        func number(_ start: Int, _ count: Int) -> Int64? {
            guard start + count <= b.count else { return nil }
            var value: Int64 = 0
            for index in start..<(start + count) {
                let digit = b[index] &- UInt8(ascii: "0")
                guard digit < 10 else { return nil }
                value = value * 10 + Int64(digit)
            }
            return value
        }
        guard b.count >= 20, let year = number(0, 4), b[4] == UInt8(ascii: "-"), let month = number(5, 2),
            b[7] == UInt8(ascii: "-"), let day = number(8, 2), b[10] == UInt8(ascii: "T"), let hour = number(11, 2),
            b[13] == UInt8(ascii: ":"), let minute = number(14, 2), b[16] == UInt8(ascii: ":"),
            let second = number(17, 2)
        else { return nil }
        guard (1...12).contains(month), day >= 1, day <= daysInMonth(year, month), hour < 24, minute < 60,
            second < 60
        else { return nil }
        var index = 19
        var nanos: Int64 = 0
        if index < b.count, b[index] == UInt8(ascii: ".") {
            index += 1
            var digits = 0
            while index < b.count, b[index] >= UInt8(ascii: "0"), b[index] <= UInt8(ascii: "9") {
                guard digits < 9 else { return nil }
                nanos = nanos * 10 + Int64(b[index] - UInt8(ascii: "0"))
                digits += 1
                index += 1
            }
            guard digits > 0 else { return nil }
            for _ in digits..<9 { nanos *= 10 }
        }
        guard index < b.count else { return nil }
        var offsetSeconds: Int64 = 0
        if b[index] == UInt8(ascii: "Z") {
            index += 1
        } else if b[index] == UInt8(ascii: "+") || b[index] == UInt8(ascii: "-") {
            guard let offsetHours = number(index + 1, 2), index + 3 < b.count, b[index + 3] == UInt8(ascii: ":"),
                let offsetMinutes = number(index + 4, 2), offsetHours < 24, offsetMinutes < 60
            else { return nil }
            offsetSeconds = (offsetHours * 3600 + offsetMinutes * 60) * (b[index] == UInt8(ascii: "-") ? -1 : 1)
            index += 6
        } else {
            return nil
        }
        guard index == b.count else { return nil }
        let days = daysFromCivil(year, month, day)
        let seconds = days * 86_400 + hour * 3600 + minute * 60 + second - offsetSeconds
        return LodeTimestamp(seconds: seconds, nanoseconds: Int32(nanos))
    }

    // MARK: Calendar arithmetic (proleptic Gregorian; Howard Hinnant's algorithms)

    private static func daysInMonth(_ year: Int64, _ month: Int64) -> Int64 {
        switch month {
        case 2: return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 ? 29 : 28
        case 4, 6, 9, 11: return 30
        default: return 31
        }
    }

    private static func daysFromCivil(_ year: Int64, _ month: Int64, _ day: Int64) -> Int64 {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let doy = (153 * (month > 2 ? month - 3 : month + 9) + 2) / 5 + day - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146_097 + doe - 719_468
    }

    private static func civil(fromDays days: Int64) -> (Int64, Int64, Int64) {
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let day = doy - (153 * mp + 2) / 5 + 1
        let month = mp < 10 ? mp + 3 : mp - 9
        return (yoe + era * 400 + (month <= 2 ? 1 : 0), month, day)
    }

    private static func pad(_ value: Int64, _ width: Int) -> String {
        let text = String(value)
        return text.count >= width ? text : String(repeating: "0", count: width - text.count) + text
    }
}
