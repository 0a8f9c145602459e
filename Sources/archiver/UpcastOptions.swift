import ArchiverConfiguration
import ArchiverCore
import ArgumentParser
import Foundation

/// `--upcasters FILE` and `--upcast-exec CMD`, for the commands that present events to a consumer.
struct UpcastOptions: ParsableArguments {
    @Option(
        help: ArgumentHelp(
            "Upcaster rules (YAML, docs/REPLAY.md \"Upcasting\"); default: the configuration file's upcasters: "
                + "section, if any.", valueName: "file"))
    var upcasters: String?

    @Option(
        help: ArgumentHelp(
            "Also run this command (via /bin/sh -c) on the events after the rules: JSON lines in and out, as "
                + "replay --exec.", valueName: "command"))
    var upcastExec: String?

    /// The rules of `--upcasters`, else of the configuration file, with `--upcast-exec`.
    func ruleSet() throws -> UpcastRuleSet {
        var rules = try Self.rules(file: upcasters)
        if let upcastExec {
            guard !upcastExec.trimmingCharacters(in: .whitespaces).isEmpty else {
                throw ValidationError("--upcast-exec needs a command")
            }
            rules.exec = upcastExec
        }
        return rules
    }

    /// The rules of `file`, else the configuration file's `upcasters:` section, else none.
    static func rules(file: String?) throws -> UpcastRuleSet {
        if let file { return try UpcastRuleSet(contentsOfFile: file) }
        if let path = CLIConfig.sources.filePath, let section = try UpcastRuleSet.section(ofConfigurationFile: path) {
            return section
        }
        return UpcastRuleSet()
    }

    /// The line replay and export print: which rules the events were presented through.
    static func describe(_ rules: UpcastRuleSet) -> String? {
        guard let hash = rules.identity else { return nil }
        return "upcasting through rule set \(hash) (\(rules.rules.count) rules"
            + (rules.exec.map { ", then `\($0)`" } ?? "") + ")"
    }
}
