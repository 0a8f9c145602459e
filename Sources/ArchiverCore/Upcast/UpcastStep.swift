public import RawJSON

/// One operation of an upcaster rule (docs/REPLAY.md "Upcasting" lists them with their YAML form).
///
/// Pointers address the event's `data`. A step that does not apply (its source is absent, a parent on the way
/// is not an object, a value is not of the type it converts) leaves the event as it is.
public enum UpcastStep: Sendable, Hashable {
    /// `rename-type: NewType`
    case renameType(String)
    /// `set-version: N`: the schema version in the metadata key the rule set names.
    case setVersion(Int64)
    /// `move: {from: /a, to: /b}`: rename or move a member, creating missing parent objects.
    case move(from: JSONPointer, to: JSONPointer)
    /// `default: {at: /a, value: V}`: set when absent.
    case defaultValue(at: JSONPointer, value: JSONValue)
    /// `remove: /a`
    case remove(JSONPointer)
    /// `to-string: /a`: a number becomes a string of its literal text.
    case toString(JSONPointer)
    /// `to-number: /a`: a string holding a JSON number literal becomes that number.
    case toNumber(JSONPointer)
    /// `wrap: key`: `data` becomes `{"key": data}`.
    case wrap(key: String)
    /// `unwrap: /a`: `data` becomes the object at `/a`.
    case unwrap(JSONPointer)
    /// `split: [{type: T, copy: {/to: /from}}, …]`: one event per part, each with a derived id.
    case split([SplitPart])
    /// `drop: true`: the event is not presented.
    case drop

    /// One event made by a split: its type and the members copied into its `data` (target pointer to source
    /// pointer, applied in the order of the target pointers' text).
    public struct SplitPart: Sendable, Hashable {
        public var type: String
        public var copies: [(to: JSONPointer, from: JSONPointer)]

        public init(type: String, copies: [(to: JSONPointer, from: JSONPointer)]) {
            self.type = type
            self.copies = copies.sorted { $0.to.description.utf8.lexicographicallyPrecedes($1.to.description.utf8) }
        }

        public static func == (a: SplitPart, b: SplitPart) -> Bool {
            a.type == b.type && a.copies.map(\.to) == b.copies.map(\.to) && a.copies.map(\.from) == b.copies.map(\.from)
        }

        public func hash(into hasher: inout Hasher) {
            hasher.combine(type)
            for copy in copies {
                hasher.combine(copy.to)
                hasher.combine(copy.from)
            }
        }
    }

    /// Ends the rule: nothing may follow a split or a drop.
    var isTerminal: Bool {
        switch self {
        case .split, .drop: return true
        default: return false
        }
    }

    /// The canonical JSON form hashed into the rule set's identity.
    var canonical: JSONValue {
        func op(_ name: String, _ members: [String: JSONValue]) -> JSONValue {
            .object(members.merging(["op": .string(name)]) { a, _ in a })
        }
        switch self {
        case .renameType(let type): return op("rename-type", ["type": .string(type)])
        case .setVersion(let v): return op("set-version", ["version": .number(String(v))])
        case .move(let from, let to):
            return op("move", ["from": .string(from.description), "to": .string(to.description)])
        case .defaultValue(let at, let value): return op("default", ["at": .string(at.description), "value": value])
        case .remove(let at): return op("remove", ["at": .string(at.description)])
        case .toString(let at): return op("to-string", ["at": .string(at.description)])
        case .toNumber(let at): return op("to-number", ["at": .string(at.description)])
        case .wrap(let key): return op("wrap", ["key": .string(key)])
        case .unwrap(let at): return op("unwrap", ["at": .string(at.description)])
        case .drop: return op("drop", [:])
        case .split(let parts):
            let list = parts.map { part -> JSONValue in
                var copy: [String: JSONValue] = [:]
                for c in part.copies { copy[c.to.description] = .string(c.from.description) }
                return .object(["type": .string(part.type), "copy": .object(copy)])
            }
            return op("split", ["parts": .array(list)])
        }
    }
}
