/// A named rule: which events it matches (a type, and optionally one schema version) and the steps it applies.
public struct UpcastRule: Sendable, Hashable {
    public var name: String
    public var type: String
    /// The schema version the event must have (nil: any). An event without the version key has version 1.
    public var version: Int64?
    public var steps: [UpcastStep]
    /// The line of the rule in its YAML source (0 when built in code), for error messages.
    public var line: Int

    public init(name: String, type: String, version: Int64? = nil, steps: [UpcastStep], line: Int = 0) {
        self.name = name
        self.type = type
        self.version = version
        self.steps = steps
        self.line = line
    }

    /// True when this rule matches an event of `type` with `version` (nil: a version that is not a number).
    func matches(type: String, version: Int64?) -> Bool {
        guard type == self.type else { return false }
        guard let wanted = self.version else { return true }
        return version == wanted
    }
}
