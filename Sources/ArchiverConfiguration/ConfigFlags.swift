/// The configuration keys given as flags on a command line, read by the keys' flag names.
///
/// `archiver serve` and `archiver config check` resolve every key, so they need every flag that names one; the
/// keys know their flags (``AnyConfigKey/flagName``, a list key's repeated flag, a toggle without a value), so
/// this map is derived rather than listed by hand. It reads arguments that ArgumentParser has already
/// accepted, so each `--name` is an option of the command and a value option is followed by its value.
///
/// ```swift
/// ConfigFlags.values(in: ["serve", "--port", "9000", "--token=a:read:…", "--s3-path-style"])
/// // ["port": "9000", "tokens": "a:read:…", "s3-path-style": "true"]
/// ```
public enum ConfigFlags {
    /// The flag values by key name; a repeated list flag's values joined by the key's separator, the last value
    /// of any other flag.
    public static func values(in arguments: [String], keys: [AnyConfigKey] = ConfigKeys.all) -> [String: String] {
        let byFlag = Dictionary(keys.map { ($0.flagName, $0) }, uniquingKeysWith: { first, _ in first })
        var values: [String: String] = [:]
        var index = 0
        while index < arguments.count {
            let argument = arguments[index]
            index += 1
            if argument == "--" { break }
            guard argument.hasPrefix("--") else { continue }
            let body = argument.dropFirst(2)
            let name = body.split(separator: "=", maxSplits: 1).first.map(String.init) ?? ""
            guard let key = byFlag[name] else { continue }
            let value: String
            if key.kind == .toggle {
                value = "true"
            } else if let equals = body.firstIndex(of: "=") {
                value = String(body[body.index(after: equals)...])
            } else if index < arguments.count {
                value = arguments[index]
                index += 1
            } else {
                continue
            }
            if case .list(let separator) = key.kind, let earlier = values[key.name] {
                values[key.name] = earlier + String(separator) + value
            } else {
                values[key.name] = value
            }
        }
        return values
    }
}
