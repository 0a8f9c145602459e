import Foundation
import RawJSON

/// Applies a rule set's rules to events: the first rule (in file order) that matches an event's type and
/// schema version applies, then matching starts again on each event it produced, until no rule matches.
///
/// Events whose type no rule names pass through untouched: callers test ``mayMatch(quotedType:)`` on the raw
/// bytes first and build no JSON tree for them.
///
/// ```swift
/// let upcaster = Upcaster(try UpcastRuleSet(contentsOfFile: "upcasters.yaml"))
/// let lines = try upcaster.upcast(rendered: line)   // 0…n rendered events
/// ```
public struct Upcaster: Sendable {
    /// Rule applications one archived event may go through before the chain is taken for a loop.
    public static let maxApplications = 64

    public let ruleSet: UpcastRuleSet
    /// The JSON-quoted names of the types some rule matches, to compare with a record's bytes.
    let quotedTypes: [[UInt8]]
    /// Per type some rule matches, the `data` members the rules an event of that type can meet read (its own
    /// rules, then those of the types they rename it to), so replay and reads parse only those (``PartialData``).
    private let touchedKeysByType: [String: UpcastTouchedKeys]
    /// The members every rule reads together.
    private let allTouchedKeys: UpcastTouchedKeys

    public init(_ ruleSet: UpcastRuleSet) {
        self.ruleSet = ruleSet
        var quoted: Set<[UInt8]> = []
        for rule in ruleSet.rules {
            var bytes: [UInt8] = []
            RawJSON.appendQuoted(rule.type, to: &bytes)
            quoted.insert(bytes)
        }
        self.quotedTypes = quoted.sorted { $0.lexicographicallyPrecedes($1) }
        self.allTouchedKeys = UpcastTouchedKeys(ruleSet.rules)
        self.touchedKeysByType = Self.touchedKeysByType(ruleSet.rules)
    }

    /// The `data` members the rules an event of `type` can meet read.
    func touchedKeys(ofType type: String) -> UpcastTouchedKeys { touchedKeysByType[type] ?? allTouchedKeys }

    private static func touchedKeysByType(_ rules: [UpcastRule]) -> [String: UpcastTouchedKeys] {
        var byType: [String: UpcastTouchedKeys] = [:]
        for type in Set(rules.map(\.type)) {
            // A chain changes an event's type only by renaming it: the rules it can meet are those of the
            // types reachable that way.
            var reached: Set<String> = [type]
            var pending = [type]
            while let current = pending.popLast() {
                for rule in rules where rule.type == current {
                    for case .renameType(let next) in rule.steps where reached.insert(next).inserted {
                        pending.append(next)
                    }
                }
            }
            byType[type] = UpcastTouchedKeys(rules.filter { reached.contains($0.type) })
        }
        return byType
    }

    /// True when some rule matches an event of this type and metadata (``apply(_:applied:)`` returns events).
    func matches(type: String, metadata: JSONValue) -> Bool {
        let version = UpcastEvent(id: "", type: type, data: .null, metadata: metadata).schemaVersion(
            key: ruleSet.versionKey)
        return ruleSet.rules.contains { $0.matches(type: type, version: version) }
    }

    /// True when a rule may match an event whose `type` member is `quoted` (the JSON string, quotes included).
    @inline(__always)
    public func mayMatch(quotedType quoted: UnsafeRawBufferPointer) -> Bool {
        for candidate in quotedTypes where candidate.count == quoted.count {
            let equal = candidate.withUnsafeBytes { memcmp($0.baseAddress!, quoted.baseAddress!, quoted.count) == 0 }
            if equal { return true }
        }
        // A type written with escapes other than the ones appendQuoted makes is compared decoded.
        guard memchr(quoted.baseAddress!, 0x5C, quoted.count) != nil,
            let type = try? RawJSON.decodeString(quoted)
        else { return false }
        return ruleSet.rules.contains { $0.type == type }
    }

    /// The events `event` becomes, or nil when no rule matches it (it is then presented as it was, byte for byte).
    /// - Throws: ``ArchiverError`` `.projectionFailed` when the chain runs longer than ``maxApplications``,
    ///   naming the last rule applied.
    /// - Parameter applied: called with each rule as it applies (for `upcast check`).
    public func apply(_ event: UpcastEvent, applied: ((UpcastRule) -> Void)? = nil) throws -> [UpcastEvent]? {
        let version = event.schemaVersion(key: ruleSet.versionKey)
        guard ruleSet.rules.contains(where: { $0.matches(type: event.type, version: version) }) else { return nil }
        var output: [UpcastEvent] = []
        // Depth first, so a split's parts keep their order and each is upcast fully before the next.
        var pending: [(event: UpcastEvent, applications: Int)] = [(event, 0)]
        while let (current, applications) = pending.popLast() {
            let version = current.schemaVersion(key: ruleSet.versionKey)
            guard let rule = ruleSet.rules.first(where: { $0.matches(type: current.type, version: version) }) else {
                output.append(current)
                continue
            }
            guard applications < Self.maxApplications else {
                throw ArchiverError(
                    .projectionFailed,
                    "upcaster rule '\(rule.name)' (line \(rule.line)) still matches event \(event.id) after "
                        + "\(Self.maxApplications) rule applications: the rules loop; fix them and run again")
            }
            applied?(rule)
            let produced = rule.apply(to: current, versionKey: ruleSet.versionKey)
            pending.append(contentsOf: produced.reversed().map { ($0, applications + 1) })
        }
        return output
    }
}
