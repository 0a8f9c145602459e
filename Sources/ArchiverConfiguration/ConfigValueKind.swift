/// How a key's value is written and checked, the same way wherever it comes from.
public enum ConfigValueKind: Sendable, Hashable {
    case text
    case choice([String])
    /// `true` or `false`; on the command line a flag without a value.
    case toggle
    /// A whole number ≥ 0.
    case count
    /// A whole number in a range, e.g. a concurrency.
    case boundedCount(ClosedRange<Int>)
    /// A TCP port, 0...65535 (0: any free port).
    case port
    /// Seconds ≥ 0, fractions allowed.
    case seconds
    /// A byte size such as `8MiB`, `512KiB` or `1000000`.
    case size
    /// A byte size in a range (bytes), e.g. S3's part-size limits.
    case boundedSize(ClosedRange<Int>)
    /// Several values: a YAML list in the file; separated by `separator` in the environment.
    case list(separator: Character)

    /// What a value of this kind must be ("a port number (0...65535)"), or nil when `value` is one.
    func problem(with value: String) -> String? {
        switch self {
        case .text, .list:
            return nil
        case .choice(let values):
            return values.contains(value) ? nil : values.joined(separator: ", ")
        case .toggle:
            return value == "true" || value == "false" ? nil : "true, false"
        case .count:
            return Int(value).map { $0 >= 0 } == true ? nil : "a whole number ≥ 0"
        case .port:
            return Int(value).map { (0...65_535).contains($0) } == true ? nil : "a port number (0...65535)"
        case .seconds:
            return Double(value).map { $0 >= 0 && $0.isFinite } == true ? nil : "a number of seconds ≥ 0"
        case .size:
            return ByteSize.parse(value).map { $0 > 0 } == true ? nil : "a size such as 8MiB, 512KiB or 1000000"
        case .boundedCount(let range):
            return Int(value).map(range.contains) == true
                ? nil : "a whole number from \(range.lowerBound) to \(range.upperBound)"
        case .boundedSize(let range):
            return ByteSize.parse(value).map(range.contains) == true
                ? nil
                : "a size from \(ByteSize.binaryText(range.lowerBound)) to \(ByteSize.binaryText(range.upperBound))"
        }
    }

    /// The items of a list value; a space separator also splits at newlines, tabs and commas.
    func items(_ value: String) -> [String] {
        guard case .list(let separator) = self else { return [value] }
        let separators: Set<Character> = separator == " " ? [" ", "\n", "\t", ","] : [separator]
        return value.split(whereSeparator: { separators.contains($0) }).map(String.init)
    }

    var isList: Bool {
        if case .list = self { return true }
        return false
    }
}
