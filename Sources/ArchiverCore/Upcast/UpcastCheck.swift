import RawJSON

/// `archiver upcast check`: what a rule set does to the (type, version) pairs an archive holds. Cycles and
/// hostile rules are refused when the rule set is read; this reports what only the archive can tell.
public enum UpcastCheck {
    /// One line per finding, in a stable order; empty when there is nothing to report.
    ///
    /// - observed pairs that end short of a declared target version;
    /// - rules that a rule before them always pre-empts (conflicts);
    /// - rules that no observed event reaches, directly or through other rules.
    public static func findings(rules: UpcastRuleSet, observed: [UpcastSurvey.Key: Int64]) throws -> [String] {
        let upcaster = Upcaster(rules)
        var findings: [String] = []
        var applied: Set<String> = []
        for (key, count) in observed.sorted(by: { $0.key < $1.key }) {
            var metadata: [String: JSONValue] = [:]
            if let version = key.version { metadata[rules.versionKey] = .number(String(version)) }
            let probe = UpcastEvent(id: "", type: key.type, data: .object([:]), metadata: .object(metadata))
            let results = try upcaster.apply(probe) { applied.insert($0.name) } ?? [probe]
            for result in results {
                guard let target = rules.targets[result.type] else { continue }
                let version = result.schemaVersion(key: rules.versionKey)
                if version != target {
                    findings.append(
                        "\(key) (\(count) events) ends as \(UpcastSurvey.Key(type: result.type, version: version)): "
                            + "no rule brings it to the target v\(target)")
                }
            }
        }
        var shadowed: Set<String> = []
        for (index, rule) in rules.rules.enumerated() {
            if let first = rules.rules[..<index].first(where: {
                $0.type == rule.type && ($0.version == nil || $0.version == rule.version)
            }) {
                shadowed.insert(rule.name)
                findings.append(
                    "rule '\(rule.name)' (line \(rule.line)) conflicts with rule '\(first.name)' (line \(first.line)): "
                        + "'\(first.name)' matches the same events first, so '\(rule.name)' never applies")
            }
        }
        for rule in rules.rules where !applied.contains(rule.name) && !shadowed.contains(rule.name) {
            let wanted = UpcastSurvey.Key(type: rule.type, version: rule.version)
            findings.append(
                "rule '\(rule.name)' (line \(rule.line)) never matches: no archived event, and no rule's output, is "
                    + (rule.version == nil ? "of type \(rule.type)" : "\(wanted)"))
        }
        return findings
    }
}
