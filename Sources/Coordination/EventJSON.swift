import RawJSON

/// The JSON forms of events shared by the CLI and the HTTP API: proposed events come in as objects
/// `{"type":…,"data":…,"metadata":…,"id":…}` (plus `"stream"` in `archiver append` batches); recorded events
/// go out as one object per event. `data` and `metadata` keep their exact bytes both ways.
///
/// ```swift
/// let events = try EventJSON.parseEvents(body)  // one object or an array of objects
/// let result = try await store.append(AppendRequest(stream: "account-42", events: events))
/// ```
public enum EventJSON {
    /// One proposed event object and the stream it names (nil when it has no `"stream"` member).
    /// - Throws: ``CoordinationError`` `.invalidInput` naming the missing or malformed member.
    public static func parseEvent(_ bytes: UnsafeRawBufferPointer) throws -> (stream: String?, event: ProposedEvent) {
        var stream: String?
        var type: String?
        var data: String?
        var metadata = "{}"
        var id: String?
        var idIsNotAString = false
        do {
            var scanner = try ObjectScanner(bytes)
            while let member = try scanner.next() {
                let raw = String(decoding: scanner.value(member), as: UTF8.self)
                if scanner.key(member, equals: "stream") {
                    stream = scanner.string(member)
                } else if scanner.key(member, equals: "type") {
                    type = scanner.string(member)
                } else if scanner.key(member, equals: "data") {
                    data = raw
                } else if scanner.key(member, equals: "metadata") {
                    metadata = raw
                } else if scanner.key(member, equals: "id") {
                    id = scanner.string(member)
                    idIsNotAString = id == nil
                }
            }
        } catch {
            throw CoordinationError(.invalidInput, "\(error)")
        }
        guard let type else { throw CoordinationError(.invalidInput, "missing \"type\" (a string)") }
        guard let data else { throw CoordinationError(.invalidInput, "missing \"data\"") }
        // Ignoring `"id":5` would store the event under a new id the sender never learns of.
        guard !idIsNotAString else {
            throw CoordinationError(.invalidInput, "\"id\" must be a UUID string (or left out to have one generated)")
        }
        return (stream, ProposedEvent(id: id, type: type, data: data, metadata: metadata))
    }

    /// A body holding one event object or a JSON array of them, for one stream.
    /// - Throws: ``CoordinationError`` `.invalidInput` for malformed JSON, an empty array, or an element that is
    ///   not an event object (named by its index).
    public static func parseEvents(_ bytes: UnsafeRawBufferPointer) throws -> [ProposedEvent] {
        do {
            try RawJSON.validate(bytes)
        } catch {
            throw CoordinationError(.invalidInput, "the body is not valid JSON: \(error)")
        }
        var index = 0
        func skipWhitespace() {
            while index < bytes.count, [0x20, 0x0A, 0x0D, 0x09].contains(bytes[index]) { index += 1 }
        }
        skipWhitespace()
        guard index < bytes.count, bytes[index] == UInt8(ascii: "[") else {
            return [try parseEvent(bytes).event]
        }
        // The body is valid JSON, so the structural scan below cannot run off a broken value.
        index += 1
        var events: [ProposedEvent] = []
        while true {
            skipWhitespace()
            if index < bytes.count, bytes[index] == UInt8(ascii: "]") { break }
            guard let end = RawJSON.structuralEnd(of: bytes, from: index) else {
                throw CoordinationError(.invalidInput, "event \(events.count + 1): not a JSON value")
            }
            let element = UnsafeRawBufferPointer(rebasing: bytes[index..<end])
            do {
                events.append(try parseEvent(element).event)
            } catch let error as CoordinationError {
                throw CoordinationError(.invalidInput, "event \(events.count + 1): \(error.message)")
            }
            index = end
            skipWhitespace()
            if index < bytes.count, bytes[index] == UInt8(ascii: ",") { index += 1 }
        }
        guard !events.isEmpty else {
            throw CoordinationError(.invalidInput, "the body is an empty array: an append needs at least one event")
        }
        return events
    }

    /// Appends `{"position":…,"stream":…,"version":…,"id":…,"type":…,"recorded_at_ns":…,"data":…,"metadata":…}`.
    public static func write(_ e: RecordedEvent, to out: inout [UInt8]) {
        out.append(contentsOf: #"{"position":\#(e.position),"stream":"#.utf8)
        RawJSON.appendQuoted(e.stream, to: &out)
        out.append(contentsOf: #","version":\#(e.version),"id":"#.utf8)
        RawJSON.appendQuoted(e.id, to: &out)
        out.append(contentsOf: #","type":"#.utf8)
        RawJSON.appendQuoted(e.type, to: &out)
        out.append(contentsOf: #","recorded_at_ns":\#(e.recordedAtNanos),"data":"#.utf8)
        out.append(contentsOf: e.data.utf8)
        out.append(contentsOf: #","metadata":"#.utf8)
        out.append(contentsOf: e.metadata.utf8)
        out.append(contentsOf: "}".utf8)
    }
}
