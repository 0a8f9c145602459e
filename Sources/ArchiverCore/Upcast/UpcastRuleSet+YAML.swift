import Foundation
import RawJSON
import Yams

extension UpcastRuleSet {
    /// Reads a rule set from YAML: either the section itself (`rules:`, `version-key:`, `targets:`) or a file
    /// with an `upcasters:` section (archiver.yaml), and checks it (``validate()``).
    /// - Parameter source: the file's name, for messages.
    /// - Throws: ``ArchiverError`` `.invalidArgument` naming the source, line and rule.
    public init(yaml text: String, source: String) throws {
        do {
            let root: Node?
            do {
                root = try Yams.compose(yaml: text)
            } catch {
                throw UpcastRuleError("\(source) is not YAML: \(error)")
            }
            var section = root ?? .mapping([:])
            if let nested = section["upcasters"] { section = nested }
            try self.init(section: section, reader: UpcastYAMLReader(source: source))
        } catch let error as UpcastRuleError {
            throw ArchiverError(.invalidArgument, error.message)
        }
    }

    /// ``init(yaml:source:)`` of a file.
    public init(contentsOfFile path: String) throws {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw ArchiverError(.invalidArgument, "cannot read upcasters file \(path): check the path")
        }
        try self.init(yaml: String(decoding: data, as: UTF8.self), source: path)
    }

    init(section: Node, reader: UpcastYAMLReader) throws {
        let top = try reader.mapping(section, what: "the upcasters section", rule: nil)
        try reader.onlyKeys(top, ["version-key", "targets", "rules"], in: "the upcasters section", rule: nil)
        self.init()
        if let key = top["version-key"] { versionKey = try reader.string(key, what: "version-key", rule: nil) }
        if let targets = top["targets"] {
            for (type, version) in try reader.pairs(targets, what: "targets", rule: nil) {
                self.targets[try reader.string(type, what: "a target type", rule: nil)] = try reader.integer(
                    version, what: "a target version", rule: nil)
            }
        }
        if let list = top["rules"] {
            guard case .sequence(let items) = list else {
                throw reader.fail("rules must be a list of rules", at: list, rule: nil)
            }
            rules = try items.map { try reader.rule($0) }
        }
        try validate(source: reader.source)
    }
}

/// Turns YAML nodes into rules, with the line of each problem.
struct UpcastYAMLReader {
    let source: String

    func fail(_ message: String, at node: Node?, rule: String?) -> UpcastRuleError {
        UpcastRuleError(message).at(rule: rule, line: node?.mark?.line, source: source)
    }

    func mapping(_ node: Node, what: String, rule: String?) throws -> [String: Node] {
        var result: [String: Node] = [:]
        for (key, value) in try pairs(node, what: what, rule: rule) {
            result[try string(key, what: "a key of \(what)", rule: rule)] = value
        }
        return result
    }

    func pairs(_ node: Node, what: String, rule: String?) throws -> [(Node, Node)] {
        guard case .mapping(let mapping) = node else { throw fail("\(what) must be a mapping", at: node, rule: rule) }
        return mapping.map { ($0.key, $0.value) }
    }

    func onlyKeys(_ map: [String: Node], _ allowed: [String], in what: String, rule: String?) throws {
        for (key, value) in map where !allowed.contains(key) {
            throw fail(
                "unknown key '\(key)' in \(what) (expected one of: \(allowed.joined(separator: ", ")))", at: value,
                rule: rule)
        }
    }

    func string(_ node: Node, what: String, rule: String?) throws -> String {
        guard case .scalar(let scalar) = node, !scalar.string.isEmpty else {
            throw fail("\(what) must be a non-empty string", at: node, rule: rule)
        }
        return scalar.string
    }

    func integer(_ node: Node, what: String, rule: String?) throws -> Int64 {
        guard case .scalar(let scalar) = node, scalar.style == .plain, let value = Int64(scalar.string), value >= 0
        else { throw fail("\(what) must be a whole number of 0 or more", at: node, rule: rule) }
        return value
    }

    func pointer(_ node: Node, what: String, rule: String?) throws -> JSONPointer {
        let text = try string(node, what: what, rule: rule)
        do {
            return try JSONPointer(parsing: text)
        } catch {
            throw fail("\(what): \(error.message)", at: node, rule: rule)
        }
    }

    /// A YAML value as JSON: plain scalars that read as JSON numbers, `true`/`false` and `null` keep those
    /// types; any other scalar (and any quoted one) is a string.
    func json(_ node: Node, rule: String?) throws -> JSONValue {
        switch node {
        case .scalar(let scalar):
            guard scalar.style == .plain else { return .string(scalar.string) }
            switch scalar.string {
            case "true": return .bool(true)
            case "false": return .bool(false)
            case "null", "~", "": return .null
            default:
                if let number = try? JSONValue.parse(scalar.string), case .number = number { return number }
                return .string(scalar.string)
            }
        case .sequence(let items): return .array(try items.map { try json($0, rule: rule) })
        case .mapping:
            var members: [String: JSONValue] = [:]
            for (key, value) in try pairs(node, what: "a value", rule: rule) {
                members[try string(key, what: "a key", rule: rule)] = try json(value, rule: rule)
            }
            return .object(members)
        }
    }
}
