import RawJSON
import Yams

extension UpcastYAMLReader {
    /// One rule: `name`, `type`, optional `version`, and `steps`.
    func rule(_ node: Node) throws -> UpcastRule {
        let map = try mapping(node, what: "a rule", rule: nil)
        let name = try map["name"].map { try string($0, what: "name", rule: nil) }
        guard let name else { throw fail("a rule needs a name", at: node, rule: nil) }
        try onlyKeys(map, ["name", "type", "version", "steps"], in: "a rule", rule: name)
        guard let typeNode = map["type"] else { throw fail("a rule needs a type to match", at: node, rule: name) }
        let type = try string(typeNode, what: "type", rule: name)
        let version = try map["version"].map { try integer($0, what: "version", rule: name) }
        guard let stepsNode = map["steps"], case .sequence(let items) = stepsNode, !items.isEmpty else {
            throw fail("a rule needs steps: a non-empty list", at: map["steps"] ?? node, rule: name)
        }
        let steps = try items.map { try step($0, rule: name) }
        return UpcastRule(name: name, type: type, version: version, steps: steps, line: node.mark?.line ?? 0)
    }

    /// One step: a mapping with exactly one operation key.
    func step(_ node: Node, rule: String) throws -> UpcastStep {
        let map = try mapping(node, what: "a step", rule: rule)
        guard map.count == 1, let (op, arg) = map.first else {
            throw fail("a step has exactly one operation, e.g. `- remove: /field`", at: node, rule: rule)
        }
        switch op {
        case "rename-type": return .renameType(try string(arg, what: "rename-type", rule: rule))
        case "set-version": return .setVersion(try integer(arg, what: "set-version", rule: rule))
        case "move":
            let m = try operands(arg, ["from", "to"], op: op, rule: rule)
            return .move(
                from: try pointer(m["from"]!, what: "move from", rule: rule),
                to: try pointer(m["to"]!, what: "move to", rule: rule))
        case "default":
            let m = try operands(arg, ["at", "value"], op: op, rule: rule)
            return .defaultValue(
                at: try pointer(m["at"]!, what: "default at", rule: rule), value: try json(m["value"]!, rule: rule))
        case "remove": return .remove(try pointer(arg, what: "remove", rule: rule))
        case "to-string": return .toString(try pointer(arg, what: "to-string", rule: rule))
        case "to-number": return .toNumber(try pointer(arg, what: "to-number", rule: rule))
        case "wrap": return .wrap(key: try string(arg, what: "wrap", rule: rule))
        case "unwrap": return .unwrap(try pointer(arg, what: "unwrap", rule: rule))
        case "split": return .split(try splitParts(arg, rule: rule))
        case "drop":
            guard case .scalar(let s) = arg, s.string == "true" else {
                throw fail("drop takes `true`", at: arg, rule: rule)
            }
            return .drop
        default:
            throw fail(
                "unknown operation '\(op)' (expected one of: rename-type, set-version, move, default, remove, "
                    + "to-string, to-number, wrap, unwrap, split, drop)", at: node, rule: rule)
        }
    }

    private func operands(_ node: Node, _ keys: [String], op: String, rule: String) throws -> [String: Node] {
        let map = try mapping(node, what: op, rule: rule)
        try onlyKeys(map, keys, in: op, rule: rule)
        for key in keys where map[key] == nil {
            throw fail("\(op) needs \(keys.map { "\($0):" }.joined(separator: " and "))", at: node, rule: rule)
        }
        return map
    }

    private func splitParts(_ node: Node, rule: String) throws -> [UpcastStep.SplitPart] {
        guard case .sequence(let items) = node, !items.isEmpty else {
            throw fail("split takes a non-empty list of parts ({type: T, copy: {/to: /from}})", at: node, rule: rule)
        }
        return try items.map { item in
            let map = try mapping(item, what: "a split part", rule: rule)
            try onlyKeys(map, ["type", "copy"], in: "a split part", rule: rule)
            guard let typeNode = map["type"] else { throw fail("a split part needs a type", at: item, rule: rule) }
            var copies: [(to: JSONPointer, from: JSONPointer)] = []
            if let copy = map["copy"] {
                for (to, from) in try pairs(copy, what: "copy", rule: rule) {
                    copies.append(
                        (
                            try pointer(to, what: "copy target", rule: rule),
                            try pointer(from, what: "copy source", rule: rule)
                        ))
                }
            }
            return UpcastStep.SplitPart(
                type: try string(typeNode, what: "a split part's type", rule: rule), copies: copies)
        }
    }
}
