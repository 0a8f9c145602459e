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
indirect enum MemberSlot {
    case absent
    /// The value's bytes in the object, untouched.
    case archived(Range<Int>)
    /// A value a step made.
    case value(JSONValue)
    /// An object a step reached inside: its members (the last of duplicate keys kept), opened one level only.
    case object([(key: String, value: MemberSlot)])

    var isAbsent: Bool {
        if case .absent = self { return true }
        return false
    }
}

/// The named members of one event's `data` (``PartialData``), edited the way ``UpcastRule`` edits the tree:
/// a step that reaches inside a member opens only the objects on its path, one level each, and the values it
/// does not reach stay bytes.
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

    /// The value at `path`, nil when absent (or a parent on the way is not an object). The objects on the way
    /// stay open.
    private mutating func value(at path: UpcastDataEdit.Path) throws -> MemberSlot? {
        try Self.value(path.inner, in: &slots[path.member], object)
    }

    private static func value(
        _ tokens: ArraySlice<String>, in slot: inout MemberSlot, _ object: UnsafeRawBufferPointer
    ) throws -> MemberSlot? {
        if slot.isAbsent { return nil }
        guard let token = tokens.first else { return slot }
        guard var members = try open(slot, object) else { return nil }
        guard let index = members.firstIndex(where: { $0.key == token }) else {
            slot = .object(members)
            return nil
        }
        let found = try value(tokens.dropFirst(), in: &members[index].value, object)
        slot = .object(members)
        return found
    }

    /// Sets `path` to `value`, creating missing parent objects; false (nothing changed) when a parent is not one.
    private mutating func set(_ value: MemberSlot, at path: UpcastDataEdit.Path) throws -> Bool {
        guard let updated = try Self.set(value, path.inner, in: slots[path.member], object) else { return false }
        slots[path.member] = updated
        return true
    }

    private static func set(
        _ value: MemberSlot, _ tokens: ArraySlice<String>, in node: MemberSlot, _ object: UnsafeRawBufferPointer
    ) throws -> MemberSlot? {
        guard let token = tokens.first else { return value }
        var members: [(key: String, value: MemberSlot)] = []
        if !node.isAbsent {
            guard let opened = try open(node, object) else { return nil }
            members = opened
        }
        let index = members.firstIndex { $0.key == token }
        guard let child = try set(value, tokens.dropFirst(), in: index.map { members[$0].value } ?? .absent, object)
        else { return nil }
        if let index { members[index].value = child } else { members.append((token, child)) }
        return .object(members)
    }

    private mutating func remove(at path: UpcastDataEdit.Path) throws {
        slots[path.member] = try Self.remove(path.inner, from: slots[path.member], object)
    }

    private static func remove(
        _ tokens: ArraySlice<String>, from node: MemberSlot, _ object: UnsafeRawBufferPointer
    ) throws -> MemberSlot {
        guard let token = tokens.first else { return .absent }
        guard var members = try open(node, object), let index = members.firstIndex(where: { $0.key == token }) else {
            return node
        }
        if tokens.count == 1 {
            members.remove(at: index)
        } else {
            members[index].value = try remove(tokens.dropFirst(), from: members[index].value, object)
        }
        return .object(members)
    }

    /// The members of `slot` when it is an object, one level opened; nil otherwise.
    private static func open(
        _ slot: MemberSlot, _ object: UnsafeRawBufferPointer
    ) throws -> [(key: String, value: MemberSlot)]? {
        switch slot {
        case .object(let members): return members
        case .value(.object(let members)): return members.map { ($0.key, .value($0.value)) }
        case .archived(let range) where object[range.lowerBound] == UInt8(ascii: "{"):
            // Valid JSON already (the named values are checked where they are found): only ends are found.
            let bytes = UnsafeRawBufferPointer(rebasing: object[range])
            var members: [(key: String, value: MemberSlot)] = []
            _ = try PartialData.findMembers(bytes, from: 0) { literal, value in
                let key = try RawJSON.decodeString(UnsafeRawBufferPointer(rebasing: bytes[literal]))
                let slot = MemberSlot.archived(
                    (range.lowerBound + value.lowerBound)..<(range.lowerBound + value.upperBound))
                // The last of duplicate keys wins, as in a tree.
                if let index = members.firstIndex(where: { $0.key == key }) {
                    members[index].value = slot
                } else {
                    members.append((key, slot))
                }
            }
            return members
        default: return nil
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

    /// Appends `slot`'s value: as archived in the as-archived form, canonical otherwise (objects opened by a
    /// step with their keys sorted).
    func write(_ slot: MemberSlot, asArchived: Bool, to out: inout [UInt8], scratch: inout MemberScratch) {
        switch slot {
        case .absent: break
        case .value(let value): value.write(to: &out)
        case .archived(let range):
            let bytes = UnsafeRawBufferPointer(rebasing: object[range])
            if asArchived {
                out.append(contentsOf: bytes)
            } else {
                CanonicalJSON.append(bytes, to: &out, members: &scratch)
            }
        case .object(var members):
            if !asArchived { members.sort { $0.key.utf8.lexicographicallyPrecedes($1.key.utf8) } }
            out.append(UInt8(ascii: "{"))
            for (index, member) in members.enumerated() {
                if index > 0 { out.append(UInt8(ascii: ",")) }
                RawJSON.appendQuoted(member.key, to: &out)
                out.append(UInt8(ascii: ":"))
                write(member.value, asArchived: asArchived, to: &out, scratch: &scratch)
            }
            out.append(UInt8(ascii: "}"))
        }
    }
}
