/// Why a rule set was refused: one line naming the rule, its line in the YAML and the problem.
///
/// The CLI reports it like an ``ArchiverError`` `.invalidArgument` (exit status 64).
public struct UpcastRuleError: Error, Sendable, Hashable, CustomStringConvertible {
    public var message: String

    public init(_ message: String) {
        self.message = message
    }

    public var description: String { message }

    /// The same problem, placed at a rule and line of `source`.
    func at(rule: String?, line: Int?, source: String) -> UpcastRuleError {
        var place = source
        if let line { place += " line \(line)" }
        if let rule { place += ", rule '\(rule)'" }
        return UpcastRuleError("\(place): \(message)")
    }
}
