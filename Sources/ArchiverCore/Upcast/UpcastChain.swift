import RawJSON

/// What the rules do to every event of one type and schema version, resolved once: rules match on type and
/// version only, and their steps set both to constants, so the rules an event meets do not depend on its data.
///
/// A chain of member steps (move, default, remove, to-string, to-number) becomes one flat list of
/// ``UpcastDataEdit``s on the `data` members they name; a chain that reaches a step on the whole object (wrap,
/// unwrap, split) is left to the tree engine (``Upcaster/apply(_:applied:)``).
struct UpcastChain: Sendable {
    enum Outcome: Sendable {
        /// No rule matches: the event is presented as archived.
        case unchanged
        /// The rules apply ``UpcastChain/edits`` and set the type and version.
        case edits
        /// A rule works on the whole object: the tree engine applies the chain.
        case tree
        /// The rules loop: this rule still matches after ``Upcaster/maxApplications`` applications.
        case loops(UpcastRule)
    }

    let outcome: Outcome
    /// The type the event ends with.
    let type: String
    /// The schema version the last `set-version` step wrote, nil when none did (the metadata stays as it was).
    let version: Int64?
    /// The member steps of every rule applied, in order.
    let edits: [UpcastDataEdit]
    /// A `drop` step ended the chain: the event becomes no event.
    let dropped: Bool
    /// The top-level `data` members the edits name (the slots of ``UpcastDataEdit/Path``).
    let keys: UpcastTouchedKeys

    /// Follows the rules from an event of `type` with schema `version` (nil: not a whole number).
    init(type: String, version: Int64?, rules: [UpcastRule]) {
        var (type, version, setVersion) = (type, version, Int64?.none)
        var steps: [UpcastStep] = []
        var applications = 0
        var outcome = Outcome.unchanged
        var dropped = false
        chain: while let rule = rules.first(where: { $0.matches(type: type, version: version) }) {
            guard applications < Upcaster.maxApplications else {
                outcome = .loops(rule)
                break
            }
            applications += 1
            outcome = .edits
            for step in rule.steps {
                switch step {
                case .renameType(let next): type = next
                case .setVersion(let next): (version, setVersion) = (next, next)
                case .move, .defaultValue, .remove, .toString, .toNumber: steps.append(step)
                case .wrap, .unwrap, .split:
                    outcome = .tree
                    break chain
                case .drop:
                    dropped = true
                    break chain
                }
            }
        }
        self.outcome = outcome
        self.type = type
        self.version = setVersion
        self.dropped = dropped
        self.keys = UpcastTouchedKeys(steps: steps)
        let keys = self.keys
        self.edits = steps.compactMap { UpcastDataEdit($0, keys: keys) }
    }
}
