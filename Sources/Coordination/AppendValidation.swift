import Basics
import Crypto
import Foundation
import RawJSON

/// Limits applied to every append, by every store.
public struct AppendLimits: Sendable, Hashable {
    /// Largest `data` + `metadata` of one event, in bytes (1 MiB by default; archive lines must stay well
    /// under the 10 MiB that Go Lode's JSONL reader accepts).
    public var maxEventBytes: Int = 1 << 20
    /// Longest event type (and idempotency key), in UTF-8 bytes.
    public var maxNameBytes: Int = 255
    /// Longest stream name, in UTF-8 bytes. The stream's category (the part before the first `-`) becomes a
    /// partition directory of the archive: at 200 bytes it stays, encoded, under the 255 bytes that file
    /// systems allow a name (a 247-byte name, or 28 CJK characters percent-encoded, made every flush fail).
    public var maxStreamNameBytes: Int = 200
    /// Most events in one append call.
    public var maxBatchEvents: Int = 10_000
    /// How long idempotency results are kept (30 days by default).
    public var idempotencyRetentionSeconds: Double = 30 * 86_400

    public init() {}
}

/// Checks appends before they reach a database, so every store refuses bad input the same way and the store
/// is left unchanged.
public enum AppendValidation {
    /// Validates one append call (``EventLog/appendMultiple(_:idempotencyKey:)``, or `append` as a call of one):
    /// each request, and the key that covers the call (`idempotencyKey`, or the single request's own).
    /// - Returns: each request's events with ids filled in, and the key in effect.
    /// - Throws: ``CoordinationError`` `.invalidInput` or `.eventTooLarge`.
    public static func validateCall(
        _ requests: [AppendRequest], idempotencyKey: String?, limits: AppendLimits
    ) throws -> (events: [[ProposedEvent]], key: String?) {
        let key = idempotencyKey ?? (requests.count == 1 ? requests[0].idempotencyKey : nil)
        if let key { try validateIdempotencyKey(key, limits: limits) }
        return (try requests.map { try validate($0, limits: limits) }, key)
    }

    /// An idempotency key is 1 to `maxNameBytes` (255) bytes: an empty key would make every keyless-looking
    /// retry collide.
    public static func validateIdempotencyKey(_ key: String, limits: AppendLimits) throws {
        guard !key.isEmpty, key.utf8.count <= limits.maxNameBytes else {
            throw CoordinationError(
                .invalidInput,
                "idempotency key must be 1 to \(limits.maxNameBytes) bytes (got \(key.utf8.count)): send a "
                    + "non-empty key, or none")
        }
    }

    /// Validates a request and returns its events with ids filled in.
    /// - Throws: ``CoordinationError`` `.invalidInput` or `.eventTooLarge`, naming the event by index.
    public static func validate(_ request: AppendRequest, limits: AppendLimits) throws -> [ProposedEvent] {
        try validateStream(request.stream, limits: limits)
        guard !request.events.isEmpty else {
            throw CoordinationError(
                .invalidInput, "empty batch for stream '\(request.stream)': an append needs at least one event",
                stream: request.stream)
        }
        guard request.events.count <= limits.maxBatchEvents else {
            throw CoordinationError(
                .invalidInput,
                "\(request.events.count) events in one append; the limit is \(limits.maxBatchEvents): split the batch")
        }
        if case .exact(let v) = request.expected, v < 1 {
            throw CoordinationError(.invalidInput, "expected version \(v) is invalid: use no-stream, or a version ≥ 1")
        }
        if let key = request.idempotencyKey { try validateIdempotencyKey(key, limits: limits) }
        var events = request.events
        for index in events.indices {
            let event = events[index]
            let which = "event \(index + 1) of stream '\(request.stream)'"
            guard !event.type.isEmpty, event.type.utf8.count <= limits.maxNameBytes else {
                throw CoordinationError(.invalidInput, "\(which): the type must be 1 to \(limits.maxNameBytes) bytes")
            }
            let size = event.data.utf8.count + event.metadata.utf8.count
            guard size <= limits.maxEventBytes else {
                throw CoordinationError(
                    .eventTooLarge,
                    "\(which) is \(size) bytes (data + metadata); the limit is \(limits.maxEventBytes): store large "
                        + "payloads elsewhere and append a reference")
            }
            do {
                try RawJSON.validate(event.data)
            } catch {
                throw CoordinationError(.invalidInput, "\(which): data is not valid JSON: \(error)")
            }
            guard RawJSON.isObject(event.metadata) else {
                throw CoordinationError(.invalidInput, "\(which): metadata must be a JSON object")
            }
            // Events are archived as JSON lines; a line break can only be insignificant whitespace in valid
            // JSON, but stored it would split the record line, and no flush could archive the event.
            if hasLineBreak(event.data) || hasLineBreak(event.metadata) {
                throw CoordinationError(
                    .invalidInput,
                    "\(which): data or metadata holds a line break between JSON tokens; events are archived as "
                        + "JSON lines: send compact JSON (no raw CR or LF outside strings)")
            }
            if let id = event.id {
                guard isUUID(id) else {
                    throw CoordinationError(.invalidInput, "\(which): id '\(id.prefix(40))' is not a UUID")
                }
            } else {
                events[index].id = UUIDv7.next()
            }
        }
        return events
    }

    /// Whether `json` holds a raw CR or LF (valid JSON has them only as whitespace between tokens).
    static func hasLineBreak(_ json: String) -> Bool {
        json.utf8.contains { $0 == 0x0A || $0 == 0x0D }
    }

    /// Writes the canonical text of the 16 bytes `uuid` to the first 36 bytes of `text`: 8-4-4-4-12 lowercase
    /// hex digits, as PostgreSQL prints a `uuid`.
    public static func writeUUIDText(_ uuid: UnsafeRawBufferPointer, to text: UnsafeMutableRawBufferPointer) {
        precondition(uuid.count == 16 && text.count >= 36, "a UUID is 16 bytes and 36 characters")
        var out = 0
        for (index, byte) in uuid.enumerated() {
            if index == 4 || index == 6 || index == 8 || index == 10 {
                text[out] = UInt8(ascii: "-")
                out += 1
            }
            (text[out], text[out + 1]) = LowercaseHex.digits(of: byte)
            out += 2
        }
    }

    /// A stream name is 1 to `maxStreamNameBytes` (200) bytes of UTF-8 without control characters.
    public static func validateStream(_ stream: String, limits: AppendLimits) throws {
        guard !stream.isEmpty else {
            throw CoordinationError(
                .invalidInput, "stream name is empty: name the stream (1 to \(limits.maxStreamNameBytes) bytes)")
        }
        let length = stream.utf8.count
        guard length <= limits.maxStreamNameBytes else {
            throw CoordinationError(
                .invalidInput,
                "stream name '\(stream.prefix(40))…' is \(length) bytes of UTF-8; the limit is "
                    + "\(limits.maxStreamNameBytes) bytes: use a shorter name (e.g. an id instead of a title)")
        }
        guard !stream.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7F }) else {
            throw CoordinationError(
                .invalidInput, "stream name contains a control character: use printable characters only")
        }
    }

    /// 8-4-4-4-12 hex digits.
    public static func isUUID(_ text: String) -> Bool {
        let bytes = Array(text.utf8)
        guard bytes.count == 36 else { return false }
        for (i, c) in bytes.enumerated() {
            if i == 8 || i == 13 || i == 18 || i == 23 {
                guard c == UInt8(ascii: "-") else { return false }
            } else {
                guard (48...57).contains(c) || (97...102).contains(c) || (65...70).contains(c) else { return false }
            }
        }
        return true
    }

    /// SHA-256 (hex) of a canonical form of the requests behind an idempotency key: streams, expectations,
    /// given ids, types, data and metadata. Generated ids are not part of it, so a retry matches.
    public static func requestHash(_ requests: [AppendRequest]) -> String {
        var hasher = SHA256()
        func add(_ s: String) {
            var length = UInt64(s.utf8.count).littleEndian
            withUnsafeBytes(of: &length) { hasher.update(bufferPointer: $0) }
            hasher.update(data: Array(s.utf8))
        }
        for request in requests {
            add(request.stream)
            add(request.expected.description)
            add(String(request.events.count))
            for event in request.events {
                add(event.id ?? "")
                add(event.type)
                add(event.data)
                add(event.metadata)
            }
        }
        return LowercaseHex.encode(hasher.finalize())
    }

    /// Checks an expectation against a stream's current version (0 = no stream).
    public static func check(_ expected: ExpectedVersion, actual: Int64, stream: String) throws {
        let ok: Bool
        switch expected {
        case .any: ok = true
        case .noStream: ok = actual == 0
        case .streamExists: ok = actual > 0
        case .exact(let v): ok = actual == v
        }
        guard ok else {
            throw CoordinationError(
                .wrongExpectedVersion,
                "wrong expected version for stream '\(stream)': expected \(expected), but the stream is at "
                    + (actual == 0 ? "no-stream (it does not exist)" : "version \(actual)")
                    + "; re-read the stream and retry",
                actualVersion: actual, stream: stream)
        }
    }

    /// The flush lease's name; stores fence flush intents with its token.
    public static let flushLeaseName = "flusher"
}

extension AppendResult {
    /// JSON form stored with an idempotency key (Foundation is fine here: it is not per event).
    public func encoded() -> String {
        String(decoding: (try? JSONEncoder().encode(self)) ?? Data(), as: UTF8.self)
    }

    public static func decode(_ text: String) throws -> AppendResult {
        try JSONDecoder().decode(AppendResult.self, from: Data(text.utf8))
    }
}
