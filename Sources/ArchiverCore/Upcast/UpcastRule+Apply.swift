import RawJSON

extension UpcastRule {
    /// Applies the steps to one event: none (dropped), one, or several (split).
    func apply(to event: UpcastEvent, versionKey: String) -> [UpcastEvent] {
        var event = event
        for step in steps {
            switch step {
            case .renameType(let type): event.type = type
            case .setVersion(let version):
                event.metadata = Self.setting(versionKey, .number(String(version)), in: event.metadata)
            case .move(let from, let to):
                guard let value = from.value(in: event.data),
                    let moved = to.setting(value, in: from.removing(from: event.data))
                else { continue }
                event.data = moved
            case .defaultValue(let at, let value):
                if at.value(in: event.data) == nil, let set = at.setting(value, in: event.data) { event.data = set }
            case .remove(let at): event.data = at.removing(from: event.data)
            case .toString(let at):
                if case .number(let literal)? = at.value(in: event.data) {
                    event.data = at.setting(.string(literal), in: event.data) ?? event.data
                }
            case .toNumber(let at):
                if case .string(let text)? = at.value(in: event.data), Self.isNumberLiteral(text) {
                    event.data = at.setting(.number(text), in: event.data) ?? event.data
                }
            case .wrap(let key): event.data = .object([key: event.data])
            case .unwrap(let at):
                if case .object(let inner)? = at.value(in: event.data) { event.data = .object(inner) }
            case .split(let parts): return split(event, into: parts)
            case .drop: return []
            }
        }
        return [event]
    }

    private func split(_ event: UpcastEvent, into parts: [UpcastStep.SplitPart]) -> [UpcastEvent] {
        parts.enumerated().map { index, part in
            var data = JSONValue.object([:])
            for copy in part.copies {
                if let value = copy.from.value(in: event.data), let set = copy.to.setting(value, in: data) {
                    data = set
                }
            }
            return UpcastEvent(
                id: SplitID.derive(from: event.id, index: index), type: part.type, data: data,
                metadata: event.metadata)
        }
    }

    /// Sets a top-level member, making the metadata an object when it was not one.
    static func setting(_ key: String, _ value: JSONValue, in object: JSONValue) -> JSONValue {
        var members: [String: JSONValue] = [:]
        if case .object(let existing) = object { members = existing }
        members[key] = value
        return .object(members)
    }

    /// A JSON number literal exactly (no whitespace, nothing after it).
    static func isNumberLiteral(_ text: String) -> Bool {
        guard let first = text.utf8.first, first == UInt8(ascii: "-") || (0x30...0x39).contains(first) else {
            return false
        }
        guard let last = text.utf8.last, (0x30...0x39).contains(last) else { return false }
        if case .number? = try? JSONValue.parse(text) { return true }
        return false
    }
}
