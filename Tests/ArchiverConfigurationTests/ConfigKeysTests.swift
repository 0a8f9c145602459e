import ArchiverConfiguration
import Foundation
import Testing

/// Every key is declared once, with one default that everything else derives from.
@Suite struct ConfigKeysTests {
    @Test(arguments: ConfigKeys.all)
    func theDefaultIsAValidValueAndTheHelpShowsIt(key: AnyConfigKey) throws {
        if let text = key.defaultText { try key.check(text, origin: .defaultValue) }
        #expect(key.help.contains(key.environmentName), "\(key.help)")
        if let shown = key.defaultText ?? key.unsetMeaning {
            #expect(key.help.contains("(default \(shown))"), "\(key.help)")
        }
        #expect(key.name.allSatisfy { $0.isLowercase || $0.isNumber || $0 == "-" })
        #expect(key.yamlKey == key.name && key.environmentName.hasPrefix("ARCHIVER_"))
        #expect(!key.summary.hasSuffix("."), "the help adds the default after the summary")
    }

    @Test func namesEnvironmentVariablesAndFlagsAreUnique() {
        for names in [
            ConfigKeys.all.map(\.name), ConfigKeys.all.map(\.environmentName), ConfigKeys.all.map(\.flagName),
        ] {
            #expect(Set(names).count == names.count && names.count == 44)
        }
    }

    @Test func theServeSettingsStartFromTheKeysDefaults() throws {
        let resolved = try ConfigResolver(sources: ConfigSources()).serverConfiguration()
        let initial = ServerConfiguration()
        #expect(resolved.host == initial.host && resolved.port == initial.port)
        #expect(resolved.maxBodyBytes == initial.maxBodyBytes && resolved.flushInterval == initial.flushInterval)
        #expect(resolved.leaseTTL == initial.leaseTTL && resolved.shutdownDeadline == initial.shutdownDeadline)
        #expect(resolved.readyMaxLagEvents == initial.readyMaxLagEvents)
        #expect(resolved.readyMaxLagSeconds == initial.readyMaxLagSeconds && resolved.logLevel == initial.logLevel)
        #expect(resolved.compactTargetBytes == initial.compactTargetBytes && resolved.holder == nil)
        // The typed default is the written one, read as the key's type.
        #expect(initial.maxBodyBytes == ByteSize.parse(ConfigKeys.maxBodyBytes.descriptor.defaultText!))
        #expect(String(initial.port) == ConfigKeys.port.descriptor.defaultText)
    }

    @Test(arguments: [
        ("flush-intervall", "flush-interval"), ("flush_interval", "flush-interval"), ("prot", "port"),
        ("s3_part_size", "s3-part-size"), ("tokenz", "tokens"), ("trusted-key", "trusted-keys"),
    ])
    func aMisspeltNameFindsTheNearestKey(misspelt: String, meant: String) {
        #expect(ConfigKeys.nearest(to: misspelt)?.name == meant)
    }

    @Test func aNameFarFromEveryKeyFindsNone() {
        #expect(ConfigKeys.nearest(to: "colour") == nil)
        #expect(ConfigKeys.named("flush_interval") == nil)
    }

    /// docs/OPERATIONS.md states defaults in two tables; each stated default is the key's.
    @Test func theOperationsGuideStatesTheKeysDefaults() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
        let guide = try String(contentsOf: root.appendingPathComponent("docs/OPERATIONS.md"), encoding: .utf8)
        var checked = 0
        for line in guide.split(separator: "\n") where line.hasPrefix("| ") {
            let cells = line.split(separator: "|").map { $0.trimmingCharacters(in: .whitespaces) }
            for (key, stated) in Self.statedDefaults(cells) where key.defaultText != nil {
                #expect(stated == key.defaultText, "\(key.name): docs say \(stated), the key \(key.defaultText!)")
                checked += 1
            }
        }
        #expect(checked >= 14)
    }

    /// `| \`host\` / \`port\` | \`127.0.0.1\` / \`8080\` | …` (the serve table) and `| what | \`--flag …\` | … |
    /// \`default\` |` (the S3 table): the keys named and the single code values stated as their defaults.
    static func statedDefaults(_ cells: [String]) -> [(AnyConfigKey, String)] {
        func code(_ cell: String) -> String? {
            guard cell.hasPrefix("`"), cell.hasSuffix("`"), cell.count > 2 else { return nil }
            let inner = String(cell.dropFirst().dropLast())
            return inner.contains("`") ? nil : inner
        }
        if cells.count == 3 {
            let names = cells[0].components(separatedBy: " / ").compactMap(code)
            let defaults = cells[1].components(separatedBy: " / ").map { code($0) }
            guard names.count == defaults.count else { return [] }
            return zip(names, defaults).compactMap { name, value in
                guard let key = ConfigKeys.named(name), let value else { return nil }
                return (key, value)
            }
        }
        guard cells.count >= 4, let flag = cells[1].split(separator: " ").first, flag.hasPrefix("`--"),
            let key = ConfigKeys.all.first(where: { "`--\($0.flagName)" == flag }), let value = code(cells.last!)
        else { return [] }
        return [(key, value)]
    }
}
