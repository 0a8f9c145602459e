import Foundation

/// The AWS shared credentials and config files (`~/.aws/credentials`, `~/.aws/config`), read the way the AWS
/// CLI reads them: INI sections, `key = value` lines, `#` and `;` comments; in the config file every profile but
/// `default` is named `[profile NAME]`. Indented lines (nested settings such as `s3 =` blocks) are skipped.
struct AWSSharedFiles: Sendable {
    /// Section name → settings, for the credentials file.
    var credentials: [String: [String: String]] = [:]
    /// Profile name → settings, for the config file (the `profile ` prefix removed).
    var config: [String: [String: String]] = [:]
    /// The paths read, for messages.
    var credentialsPath: String
    var configPath: String

    /// Reads the files named by `AWS_SHARED_CREDENTIALS_FILE` and `AWS_CONFIG_FILE`, else the defaults under
    /// `HOME`. A missing file is empty.
    init(environment: [String: String]) {
        let home = environment["HOME"] ?? NSHomeDirectory()
        credentialsPath =
            environment["AWS_SHARED_CREDENTIALS_FILE"].map(Self.expandTilde(home: home))
            ?? home + "/.aws/credentials"
        configPath = environment["AWS_CONFIG_FILE"].map(Self.expandTilde(home: home)) ?? home + "/.aws/config"
        if let text = try? String(contentsOfFile: credentialsPath, encoding: .utf8) {
            credentials = Self.parse(text)
        }
        if let text = try? String(contentsOfFile: configPath, encoding: .utf8) {
            for (section, settings) in Self.parse(text) {
                if section == "default" {
                    config["default", default: [:]].merge(settings) { _, new in new }
                } else if section.hasPrefix("profile ") {
                    let name = section.dropFirst("profile ".count).trimmingCharacters(in: .whitespaces)
                    config[name, default: [:]].merge(settings) { _, new in new }
                }
            }
        }
    }

    /// A setting of `profile`: the credentials file first, then the config file.
    func value(_ name: String, profile: String) -> String? {
        credentials[profile]?[name] ?? config[profile]?[name]
    }

    func hasProfile(_ profile: String) -> Bool {
        credentials[profile] != nil || config[profile] != nil
    }

    /// Sections of an INI text; later duplicates win.
    static func parse(_ text: String) -> [String: [String: String]] {
        var sections: [String: [String: String]] = [:]
        var current: String?
        for rawLine in text.split(omittingEmptySubsequences: false, whereSeparator: \.isNewline) {
            if rawLine.first == " " || rawLine.first == "\t" { continue }  // nested setting
            let line = rawLine.trimmingCharacters(in: .whitespaces)
            if line.isEmpty || line.hasPrefix("#") || line.hasPrefix(";") { continue }
            if line.hasPrefix("["), line.hasSuffix("]") {
                let name = line.dropFirst().dropLast().trimmingCharacters(in: .whitespaces)
                current = name
                sections[name, default: [:]] = sections[name] ?? [:]
                continue
            }
            guard let section = current, let equals = line.firstIndex(of: "=") else { continue }
            let key = line[..<equals].trimmingCharacters(in: .whitespaces).lowercased()
            var value = line[line.index(after: equals)...].trimmingCharacters(in: .whitespaces)
            // An inline comment needs whitespace before it (secrets may contain '#').
            if let comment = value.range(of: " #") ?? value.range(of: " ;") {
                value = value[..<comment.lowerBound].trimmingCharacters(in: .whitespaces)
            }
            sections[section]?[key] = value
        }
        return sections
    }

    private static func expandTilde(home: String) -> (String) -> String {
        { path in path.hasPrefix("~/") ? home + path.dropFirst() : path }
    }
}
