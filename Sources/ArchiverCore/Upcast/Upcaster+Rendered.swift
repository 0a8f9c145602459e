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
        guard let type = value("type"), mayMatch(quotedType: type) else { return [Array(bytes)] }
        let id: String
        let typeText: String
        let metadata: JSONValue
        do {
            id = value("id").flatMap { try? RawJSON.decodeString($0) } ?? ""
            typeText = try RawJSON.decodeString(type)
            metadata = try value("metadata").map { try JSONValue.parse($0) } ?? .object([:])
        } catch {
            throw ArchiverError(.invalidData, "an event to upcast has malformed type, data or metadata: \(error)")
        }
        var scratch = MemberScratch()
        let names = touchedKeys(ofType: typeText)
        if names.keys != nil, let data = value("data"),
            let partial = try PartialData(data, names: names, form: .canonical, scratch: &scratch)
        {
            defer { partial.release(&scratch) }
            let event = UpcastEvent(id: id, type: typeText, data: partial.named, metadata: metadata)
            guard let results = try apply(event) else { return [Array(bytes)] }
            return results.map { result in
                render(result, members: members) { partial.write($0, to: &$1, scratch: &scratch) }
            }
        }
        // A step on the whole object (wrap, unwrap, split), or `data` that is not an object: the whole tree.
        let data: JSONValue
        do {
            data = try JSONValue.parse(value("data") ?? UnsafeRawBufferPointer(start: nil, count: 0))
        } catch {
            throw ArchiverError(.invalidData, "an event to upcast has malformed type, data or metadata: \(error)")
        }
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
