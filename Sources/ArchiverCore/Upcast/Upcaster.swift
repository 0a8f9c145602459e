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
    /// The JSON-quoted names of the types some rule matches, sorted, to compare with a record's bytes.
    let quotedTypes: [[UInt8]]
    /// The same names as text, in the same order.
    let types: [String]
    /// The schema versions some rule matches, sorted: every other version (or none) meets the same rules.
    let versions: [Int64]
    /// The resolved chain of each type (by index in ``types``) and version (by index in ``versions``, the last
    /// column for every other version): `chains[type * (versions.count + 1) + version]`.
    let chains: [UpcastChain]

    public init(_ ruleSet: UpcastRuleSet) {
        self.ruleSet = ruleSet
        var quoted: [[UInt8]: String] = [:]
        for rule in ruleSet.rules {
            var bytes: [UInt8] = []
            RawJSON.appendQuoted(rule.type, to: &bytes)
            quoted[bytes] = rule.type
        }
        let sorted = quoted.sorted { $0.key.lexicographicallyPrecedes($1.key) }
        self.quotedTypes = sorted.map(\.key)
        self.types = sorted.map(\.value)
        self.versions = Set(ruleSet.rules.compactMap(\.version)).sorted()
        var chains: [UpcastChain] = []
        for type in types {
            for version in versions.map(Optional.some) + [nil] {
                chains.append(UpcastChain(type: type, version: version, rules: ruleSet.rules))
            }
        }
        self.chains = chains
    }

    /// The resolved chain of an event of type `types[type]` whose schema version is `version`.
    func chain(type: Int, version: Int64?) -> UpcastChain {
        let column = version.flatMap { versions.firstIndex(of: $0) } ?? versions.count
        return chains[type * (versions.count + 1) + column]
    }

    /// The resolved chain of an event of `type`, nil when no rule names the type.
    func chain(type: String, version: Int64?) -> UpcastChain? {
        types.firstIndex(of: type).map { chain(type: $0, version: version) }
    }

    /// The index in ``types`` of the type whose JSON string (quotes included) is `quoted`, nil when no rule
    /// matches that type.
    @inline(__always)
    func typeIndex(quotedType quoted: UnsafeRawBufferPointer) -> Int? {
        for (index, candidate) in quotedTypes.enumerated() where candidate.count == quoted.count {
            let equal = candidate.withUnsafeBytes { memcmp($0.baseAddress!, quoted.baseAddress!, quoted.count) == 0 }
            if equal { return index }
        }
        // A type written with escapes other than the ones appendQuoted makes is compared decoded.
        guard memchr(quoted.baseAddress!, 0x5C, quoted.count) != nil,
            let type = try? RawJSON.decodeString(quoted)
        else { return nil }
        return types.firstIndex(of: type)
    }

    /// The schema version in the metadata key the rule set names, read from the metadata's bytes as
    /// ``UpcastEvent/schemaVersion(key:)`` reads it from the tree: 1 when absent (or the metadata is not an
    /// object), nil when it is neither a whole number nor a string of one.
    /// - Throws: what ``RawJSON`` throws for metadata that is not valid JSON.
    func schemaVersion(metadata: UnsafeRawBufferPointer) throws -> Int64? {
        let start = ValidJSON.skipSpace(metadata, from: 0)
        guard start < metadata.count, metadata[start] == UInt8(ascii: "{") else {
            try RawJSON.validate(metadata)
            return 1
        }
        var found: UnsafeRawBufferPointer? = nil
        var scanner = try ObjectScanner(metadata)
        while let member = try scanner.next() {
            if scanner.key(member, equals: ruleSet.versionKey) { found = scanner.value(member) }
        }
        guard let found else { return 1 }
        switch found[0] {
        case UInt8(ascii: "\""): return Int64(try RawJSON.decodeString(found))
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"):
            return Int64(String(decoding: found, as: UTF8.self))
        default: return nil
        }
    }

    /// The error of an event the rules loop on: `rule` still matches after ``maxApplications`` applications.
    static func loops(_ rule: UpcastRule, eventID: String) -> ArchiverError {
        ArchiverError(
            .projectionFailed,
            "upcaster rule '\(rule.name)' (line \(rule.line)) still matches event \(eventID) after "
                + "\(maxApplications) rule applications: the rules loop; fix them and run again")
    }

    /// True when a rule may match an event whose `type` member is `quoted` (the JSON string, quotes included).
    public func mayMatch(quotedType quoted: UnsafeRawBufferPointer) -> Bool { typeIndex(quotedType: quoted) != nil }

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
            guard applications < Self.maxApplications else { throw Self.loops(rule, eventID: event.id) }
            applied?(rule)
            let produced = rule.apply(to: current, versionKey: ruleSet.versionKey)
            pending.append(contentsOf: produced.reversed().map { ($0, applications + 1) })
        }
        return output
    }
}
