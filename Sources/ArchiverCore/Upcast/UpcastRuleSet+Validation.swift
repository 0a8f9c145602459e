import RawJSON

extension UpcastRuleSet {
    /// Refuses rule sets that cannot be applied safely: duplicate names, steps after a split or drop, type
    /// clashes inside a rule, and rules that match their own output (directly or through other rules).
    /// - Throws: ``UpcastRuleError`` naming the source, the rule and its line.
    func validate(source: String) throws(UpcastRuleError) {
        var seen: [String: Int] = [:]
        for rule in rules {
            func fail(_ message: String) -> UpcastRuleError {
                UpcastRuleError(message).at(rule: rule.name, line: rule.line, source: source)
            }
            if let line = seen[rule.name] { throw fail("a rule of this name is already defined at line \(line)") }
            seen[rule.name] = rule.line
            if let index = rule.steps.dropLast().firstIndex(where: \.isTerminal) {
                throw fail("step \(index + 1) (split or drop) ends the rule: move it last")
            }
            if let clash = Self.typeClash(in: rule.steps) { throw fail(clash) }
        }
        if let cycle = cycle() {
            let first = cycle[0]
            let path = (cycle + [first]).map { "'\($0.name)'" }.joined(separator: " -> ")
            let message =
                cycle.count == 1
                ? "the rule matches its own output, so it would apply forever: rename the type or set another version"
                : "rules form a cycle (\(path)), so they would apply forever"
            throw UpcastRuleError(message).at(rule: first.name, line: first.line, source: source)
        }
    }

    /// A step that addresses a member inside one that an earlier step made a non-object, or a conversion both
    /// ways, or a move into itself; nil when the steps are consistent.
    static func typeClash(in steps: [UpcastStep]) -> String? {
        var scalars: [(JSONPointer, Int)] = []
        var conversions: [JSONPointer: (String, Int)] = [:]
        for (offset, step) in steps.enumerated() {
            let number = offset + 1
            for pointer in step.addressed {
                if let (scalar, at) = scalars.first(where: { $0.0.contains(pointer) && $0.0 != pointer }) {
                    return
                        "type clash: step \(at) makes \(scalar) a non-object, step \(number) addresses \(pointer) inside it"
                }
            }
            switch step {
            case .move(let from, let to):
                if from.contains(to) { return "step \(number) moves \(from) into itself (\(to))" }
            case .defaultValue(let at, let value):
                if case .object = value {} else { scalars.append((at, number)) }
            case .toString(let at), .toNumber(let at):
                let kind = step == .toString(at) ? "to-string" : "to-number"
                if let (other, before) = conversions[at], other != kind {
                    return "type clash: step \(before) is \(other) and step \(number) is \(kind) of \(at)"
                }
                conversions[at] = (kind, number)
                scalars.append((at, number))
            case .split(let parts):
                for part in parts {
                    let targets = part.copies.map(\.to)
                    for (i, a) in targets.enumerated() {
                        for b in targets[(i + 1)...] where a.contains(b) || b.contains(a) {
                            return "type clash: split part \(part.type) copies into both \(a) and \(b)"
                        }
                    }
                }
            case .wrap, .unwrap:
                // The data's root moved: earlier paths no longer name the same members.
                scalars.removeAll()
                conversions.removeAll()
            default: break
            }
        }
        return nil
    }

    /// The rules of a cycle in the "may feed" graph (a rule's possible output matched by another rule), if any.
    func cycle() -> [UpcastRule]? {
        let feeds = rules.map { rule in
            rule.outputs().flatMap { output in
                rules.indices.filter {
                    rules[$0].matches(type: output.type, version: output.version, anyVersion: output.version == nil)
                }
            }
        }
        var state = [Int](repeating: 0, count: rules.count)  // 0 new, 1 on the path, 2 done
        var path: [Int] = []
        func visit(_ i: Int) -> [Int]? {
            state[i] = 1
            path.append(i)
            for next in feeds[i] {
                if state[next] == 1 { return Array(path[path.firstIndex(of: next)!...]) }
                if state[next] == 0, let found = visit(next) { return found }
            }
            path.removeLast()
            state[i] = 2
            return nil
        }
        for i in rules.indices where state[i] == 0 {
            if let found = visit(i) { return found.map { rules[$0] } }
        }
        return nil
    }
}

extension UpcastRule {
    /// The (type, version) of the events this rule can produce; a nil version is "whatever the input had" for a
    /// rule that matches any version.
    func outputs() -> [(type: String, version: Int64?)] {
        var type = self.type
        var version = self.version
        for step in steps {
            switch step {
            case .renameType(let name): type = name
            case .setVersion(let v): version = v
            case .drop: return []
            case .split(let parts): return parts.map { ($0.type, version) }
            default: break
            }
        }
        return [(type, version)]
    }

    /// Like ``matches(type:version:)``, where `anyVersion` stands for an unknown version that may be any.
    func matches(type: String, version: Int64?, anyVersion: Bool) -> Bool {
        guard type == self.type else { return false }
        return anyVersion || self.version == nil || self.version == version
    }
}

extension UpcastStep {
    /// The pointers this step reads or writes.
    var addressed: [JSONPointer] {
        switch self {
        case .move(let from, let to): return [from, to]
        case .defaultValue(let at, _), .remove(let at), .toString(let at), .toNumber(let at), .unwrap(let at):
            return [at]
        case .split(let parts): return parts.flatMap { $0.copies.map(\.from) }
        case .renameType, .setVersion, .wrap, .drop: return []
        }
    }
}

extension UpcastRuleSet {
    /// Checks a rule set built in code as ``init(yaml:source:)`` checks a file's.
    /// - Throws: ``ArchiverError`` `.invalidArgument` naming the rule and the problem.
    public func check() throws {
        do {
            try validate(source: "upcasters")
        } catch {
            throw ArchiverError(.invalidArgument, error.message)
        }
    }
}
