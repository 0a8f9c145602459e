import ArchiverCore
import ArgumentParser
import Foundation

struct UpcastCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "upcast",
        abstract: "Check upcaster rules against the archive, and preview what they do.",
        discussion: """
            Upcasters present archived events in their current schema to replay, read and export, without \
            changing the archive (docs/REPLAY.md "Upcasting").

            Examples:
              archiver upcast check upcasters.yaml
              archiver upcast preview --type AccountOpened --upcasters upcasters.yaml --limit 3
            """,
        subcommands: [Check.self, Preview.self])

    struct Check: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Validate a rule set and check it against the archive's event types and versions.",
            discussion: """
                Refuses hostile rules (bad pointers, type clashes, cycles) naming the rule and its line, then \
                reads the archive and reports observed versions that end short of a declared target, rules that \
                conflict, and rules that never match. Prints the rule set's hash and canonical form. Exit \
                status 0 when there is nothing to report, 1 when there are findings.
                """)

        @OptionGroup var archiveOptions: ArchiveOptions
        @Argument(help: "The rule file (YAML).") var file: String
        @Option(help: ArgumentHelp("Cut point to check against.", valueName: "cut")) var to: String = "latest"

        func run() async throws {
            try await CLIErrors.reporting {
                let rules = try UpcastRuleSet(contentsOfFile: file)
                print("rule set \(rules.hash): \(rules.rules.count) rules, version key '\(rules.versionKey)'")
                print("canonical form: \(rules.canonicalJSON)")
                let archive = try await ArchiveOpener.open(archiveOptions)
                let plan = try await archive.plan(to: CutSelector(parsing: to))
                let survey = try await UpcastSurvey.run(
                    replayer: Replayer(archive: archive), plan: plan, versionKey: rules.versionKey)
                for (key, count) in survey.counts.sorted(by: { $0.key < $1.key }) { print("observed \(key): \(count)") }
                let findings = try UpcastCheck.findings(rules: rules, observed: survey.counts)
                for finding in findings { print("finding: \(finding)") }
                print(findings.isEmpty ? "ok: nothing to report" : "\(findings.count) findings")
                if !findings.isEmpty { throw ExitCode(1) }
            }
        }
    }

    struct Preview: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Show events of a type before and after upcasting.",
            discussion: "Each sampled event prints as `before:` and one `after:` line per event it becomes.")

        @OptionGroup var archiveOptions: ArchiveOptions
        @OptionGroup var upcast: UpcastOptions
        @Option(help: ArgumentHelp("The event type to sample.", valueName: "type")) var type: String
        @Option(help: ArgumentHelp("How many events to show.", valueName: "n")) var limit: Int = 5
        @Option(help: ArgumentHelp("Cut point to read.", valueName: "cut")) var to: String = "latest"

        func run() async throws {
            try await CLIErrors.reporting {
                let rules = try upcast.ruleSet()
                let archive = try await ArchiveOpener.open(archiveOptions)
                let plan = try await archive.plan(to: CutSelector(parsing: to))
                let survey = try await UpcastSurvey.run(
                    replayer: Replayer(archive: archive, filter: ReplayFilter(types: [type])), plan: plan,
                    versionKey: rules.versionKey, sampleType: type, sampleLimit: max(limit, 1))
                let upcaster = Upcaster(rules)
                var out = ""
                for sample in survey.samples {
                    out += "before: " + String(decoding: sample, as: UTF8.self) + "\n"
                    let after = try sample.withUnsafeBytes { try upcaster.upcast(rendered: $0) }
                    if after.isEmpty { out += "after:  (dropped)\n" }
                    for event in after { out += "after:  " + String(decoding: event, as: UTF8.self) + "\n" }
                }
                if survey.samples.isEmpty { out = "no events of type \(type) up to \(plan.selector)\n" }
                FileHandle.standardOutput.write(Data(out.utf8))
            }
        }
    }
}
