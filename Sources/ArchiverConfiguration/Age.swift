/// Ages and periods as people write them in flags and configuration files: `30d`, `12h`, `15m`, `90s`.
public enum Age {
    /// The number of seconds, or nil when `text` is not a non-negative number followed by d, h, m or s.
    public static func seconds(_ text: String) -> Double? {
        let units: [Character: Double] = ["d": 86_400, "h": 3_600, "m": 60, "s": 1]
        guard let unit = text.last.flatMap({ units[$0] }), let value = Double(text.dropLast()), value >= 0 else {
            return nil
        }
        return value * unit
    }
}
