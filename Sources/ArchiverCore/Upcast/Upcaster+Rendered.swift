import RawJSON

extension Upcaster {
    /// Upcasts one rendered event, a JSON object with `type` and `data` and usually `id` and `metadata` (the
    /// `replay --exec` line, or an `archiver read` line): bytes in, 0…n rendered events out.
    ///
    /// An event no rule matches comes back byte for byte. Otherwise each resulting event keeps the input's
    /// members in their order, with `id` and `type` requoted and `data` and `metadata` written compact with
    /// sorted keys; every other member (position, stream, version, time) is copied as it was.
    ///
    /// Only the `data` members the rules name are parsed (``PartialData``), as replay does: the bytes are the
    /// ones replay and export present.
    /// - Throws: ``ArchiverError`` `.invalidData` when the input is not such an object, and what ``apply(_:)``
    ///   throws.
    public func upcast(rendered bytes: UnsafeRawBufferPointer) throws -> [[UInt8]] {
        var members: [(key: String, value: UnsafeRawBufferPointer)] = []
        do {
            // The scanner validates every value: `data` is valid JSON from here on.
            var scanner = try ObjectScanner(bytes)
            while let member = try scanner.next() {
                members.append((try scanner.keyString(member), scanner.value(member)))
            }
        } catch {
            throw ArchiverError(.invalidData, "an event to upcast is not a JSON object: \(error)")
        }
        func value(_ key: String) -> UnsafeRawBufferPointer? { members.last { $0.key == key }?.value }
        guard let type = value("type"), let typeIndex = typeIndex(quotedType: type) else { return [Array(bytes)] }
        let id: String
        let metadata: JSONValue
        let version: Int64?
        do {
            id = value("id").flatMap { try? RawJSON.decodeString($0) } ?? ""
            metadata = try value("metadata").map { try JSONValue.parse($0) } ?? .object([:])
            version = try value("metadata").map { try schemaVersion(metadata: $0) } ?? 1
        } catch {
            throw ArchiverError(.invalidData, "an event to upcast has malformed type, data or metadata: \(error)")
        }
        let chain = chain(type: typeIndex, version: version)
        switch chain.outcome {
        case .unchanged: return [Array(bytes)]
        case .loops(let rule): throw Self.loops(rule, eventID: id)
        case .edits, .tree: break
        }
        var (scratch, buffers) = (MemberScratch(), PartialData.Buffers())
        if case .edits = chain.outcome, let data = value("data"),
            var partial = try PartialData(
                data, keys: chain.keys, form: .canonical, scratch: &scratch, buffers: &buffers)
        {
            defer { partial.release(&scratch, into: &buffers) }
            try partial.named.apply(chain.edits)
            guard !chain.dropped else { return [] }
            var result = UpcastEvent(id: id, type: chain.type, data: .null, metadata: metadata)
            if let version = chain.version {
                result.metadata = UpcastRule.setting(ruleSet.versionKey, .number(String(version)), in: metadata)
            }
            return [render(result, members: members) { _, out in partial.write(to: &out, scratch: &scratch) }]
        }
        // A step on the whole object (wrap, unwrap, split), or `data` that is not an object: the whole tree.
        let data: JSONValue
        do {
            data = try JSONValue.parse(value("data") ?? UnsafeRawBufferPointer(start: nil, count: 0))
        } catch {
            throw ArchiverError(.invalidData, "an event to upcast has malformed type, data or metadata: \(error)")
        }
        let typeText = types[typeIndex]
        guard let results = try apply(UpcastEvent(id: id, type: typeText, data: data, metadata: metadata)) else {
            return [Array(bytes)]
        }
        return results.map { render($0, members: members) { $0.write(to: &$1) } }
    }

    /// The input's members in order, with the upcast ones replaced; `data` written by `writeData`.
    func render(
        _ event: UpcastEvent, members: [(key: String, value: UnsafeRawBufferPointer)],
        writeData: (JSONValue, inout [UInt8]) -> Void
    ) -> [UInt8] {
        var out: [UInt8] = [UInt8(ascii: "{")]
        var written: Set<String> = []
        func member(_ key: String, _ body: (inout [UInt8]) -> Void) {
            if out.count > 1 { out.append(UInt8(ascii: ",")) }
            RawJSON.appendQuoted(key, to: &out)
            out.append(UInt8(ascii: ":"))
            body(&out)
            written.insert(key)
        }
        for (key, value) in members where !written.contains(key) {
            switch key {
            case "id": member(key) { RawJSON.appendQuoted(event.id, to: &$0) }
            case "type": member(key) { RawJSON.appendQuoted(event.type, to: &$0) }
            case "data": member(key) { writeData(event.data, &$0) }
            case "metadata": member(key) { event.metadata.write(to: &$0) }
            default: member(key) { $0.append(contentsOf: value) }
            }
        }
        if !written.contains("metadata"), event.metadata != .object([:]) {
            member("metadata") { event.metadata.write(to: &$0) }
        }
        return out + [UInt8(ascii: "}")]
    }
}
