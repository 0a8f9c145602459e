import RawJSON

/// One member step of a resolved chain (``UpcastChain``), its pointers split into the top-level member they
/// start in and the path inside it: steps on top-level members move bytes, and only a step that reaches
/// inside a member (or makes a value) builds a ``JSONValue``.
enum UpcastDataEdit: Sendable {
    /// A pointer: the index of its first token in the chain's ``UpcastTouchedKeys``, and the tokens after it.
    struct Path: Sendable {
        let member: Int
        let inner: ArraySlice<String>

        init(_ pointer: JSONPointer, keys: UpcastTouchedKeys) {
            member = keys.index(of: pointer.tokens[0])!
            inner = pointer.tokens.dropFirst()
        }
    }

    case move(from: Path, to: Path)
    case setDefault(at: Path, value: JSONValue)
    case remove(Path)
    case toString(Path)
    case toNumber(Path)

    /// The edit of a member step; nil for the other steps.
    init?(_ step: UpcastStep, keys: UpcastTouchedKeys) {
        switch step {
        case .move(let from, let to): self = .move(from: Path(from, keys: keys), to: Path(to, keys: keys))
        case .defaultValue(let at, let value): self = .setDefault(at: Path(at, keys: keys), value: value)
        case .remove(let at): self = .remove(Path(at, keys: keys))
        case .toString(let at): self = .toString(Path(at, keys: keys))
        case .toNumber(let at): self = .toNumber(Path(at, keys: keys))
        case .renameType, .setVersion, .wrap, .unwrap, .split, .drop: return nil
        }
    }
}

/// The value of one top-level `data` member a chain names, while its edits run.
enum MemberSlot {
    case absent
    /// The value's bytes in the object, untouched.
    case archived(Range<Int>)
    /// A value a step made or reached inside.
    case value(JSONValue)
}

/// The named members of one event's `data` (``PartialData``), edited the way ``UpcastRule`` edits the tree.
struct MemberSlots {
    var slots: [MemberSlot]
    let object: UnsafeRawBufferPointer

    /// Applies `edits` in order. A step that does not apply leaves the members as they are.
    mutating func apply(_ edits: [UpcastDataEdit]) throws {
        for edit in edits {
            switch edit {
            case .move(let from, let to):
                guard let value = try value(at: from) else { continue }
                if from.inner.isEmpty && to.inner.isEmpty {
                    slots[from.member] = .absent
                    slots[to.member] = value
                    continue
                }
                var trial = self
                try trial.remove(at: from)
                if try trial.set(value, at: to) { self = trial }
            case .setDefault(let at, let value):
                if try self.value(at: at) == nil { _ = try set(.value(value), at: at) }
            case .remove(let at): try remove(at: at)
            case .toString(let at):
                guard let literal = try value(at: at).flatMap(numberLiteral) else { continue }
                _ = try set(.value(.string(literal)), at: at)
            case .toNumber(let at):
                guard let text = try value(at: at).flatMap(stringText), UpcastRule.isNumberLiteral(text) else {
                    continue
                }
                _ = try set(.value(.number(text)), at: at)
            }
        }
    }

    /// The value at `path`, nil when absent (or a parent on the way is not an object).
    private mutating func value(at path: UpcastDataEdit.Path) throws -> MemberSlot? {
        let slot = slots[path.member]
        if case .absent = slot { return nil }
        guard !path.inner.isEmpty else { return slot }
        let tree = try self.tree(slot)
        slots[path.member] = .value(tree)
        return JSONPointer.value(path.inner, in: tree).map { .value($0) }
    }

    /// Sets `path` to `value`, creating missing parent objects; false (nothing changed) when a parent is not one.
    private mutating func set(_ value: MemberSlot, at path: UpcastDataEdit.Path) throws -> Bool {
        guard !path.inner.isEmpty else {
            slots[path.member] = value
            return true
        }
        let slot = slots[path.member]
        let node: JSONValue? = if case .absent = slot { nil } else { try tree(slot) }
        guard let updated = JSONPointer.set(try tree(value), path.inner, in: node) else { return false }
        slots[path.member] = .value(updated)
        return true
    }

    private mutating func remove(at path: UpcastDataEdit.Path) throws {
        let slot = slots[path.member]
        if case .absent = slot { return }
        guard !path.inner.isEmpty else {
            slots[path.member] = .absent
            return
        }
        slots[path.member] = .value(JSONPointer.remove(path.inner, from: try tree(slot)))
    }

    private func tree(_ slot: MemberSlot) throws -> JSONValue {
        switch slot {
        case .absent: return .null
        case .archived(let range): return try JSONValue.parse(UnsafeRawBufferPointer(rebasing: object[range]))
        case .value(let value): return value
        }
    }

    /// The literal text of a number.
    private func numberLiteral(_ slot: MemberSlot) -> String? {
        switch slot {
        case .archived(let range):
            let first = object[range.lowerBound]
            guard first == UInt8(ascii: "-") || (0x30...0x39).contains(first) else { return nil }
            return String(decoding: UnsafeRawBufferPointer(rebasing: object[range]), as: UTF8.self)
        case .value(.number(let literal)): return literal
        default: return nil
        }
    }

    /// The text of a string.
    private func stringText(_ slot: MemberSlot) -> String? {
        switch slot {
        case .archived(let range) where object[range.lowerBound] == UInt8(ascii: "\""):
            return try? RawJSON.decodeString(UnsafeRawBufferPointer(rebasing: object[range]))
        case .value(.string(let text)): return text
        default: return nil
        }
    }
}
