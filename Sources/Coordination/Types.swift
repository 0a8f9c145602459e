import Basics
import RawJSON

/// What a caller asserts about a stream before appending (optimistic concurrency).
public enum ExpectedVersion: Sendable, Hashable, CustomStringConvertible {
    /// No check.
    case any
    /// The stream must not exist.
    case noStream
    /// The stream must exist (any version).
    case streamExists
    /// The stream's current version must be exactly this (versions start at 1).
    case exact(Int64)

    public var description: String {
        switch self {
        case .any: "any"
        case .noStream: "no-stream"
        case .streamExists: "exists"
        case .exact(let v): String(v)
        }
    }

    /// Parses `any`, `no-stream` / `noStream`, `exists` / `streamExists`, or a version number in digits.
    public init?(parsing text: String) {
        switch text {
        case "any": self = .any
        case "no-stream", "noStream", "no_stream": self = .noStream
        case "exists", "streamExists", "stream-exists": self = .streamExists
        default:
            // Digits only: `Int64("+1")` would read a signed form the docs do not promise as 1.
            guard !text.isEmpty, text.utf8.allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }),
                let v = Int64(text)
            else { return nil }
            self = v == 0 ? .noStream : .exact(v)
        }
    }
}

/// An event as the application proposes it.
public struct ProposedEvent: Sendable, Hashable {
    /// UUID string; generated when nil.
    public var id: String?
    public var type: String
    /// A JSON text (any JSON value). Stored byte for byte.
    public var data: String
    /// A JSON object text; `{}` when absent.
    public var metadata: String

    public init(id: String? = nil, type: String, data: String, metadata: String = "{}") {
        self.id = id
        self.type = type
        self.data = data
        self.metadata = metadata
    }
}

public struct AppendRequest: Sendable, Hashable {
    public var stream: String
    public var expected: ExpectedVersion
    public var idempotencyKey: String?
    public var events: [ProposedEvent]

    public init(
        stream: String, expected: ExpectedVersion = .any, idempotencyKey: String? = nil, events: [ProposedEvent]
    ) {
        self.stream = stream
        self.expected = expected
        self.idempotencyKey = idempotencyKey
        self.events = events
    }
}

public struct AppendResult: Sendable, Hashable, Codable {
    /// Decodes a JSON array of results (the form the stores keep for idempotent replays and PostgreSQL's append
    /// function returns), without Foundation's decoder.
    /// - Throws: ``CoordinationError`` `.queryFailed` when the text is not such an array.
    public static func decodeArray(json text: String) throws -> [AppendResult] {
        let malformed = CoordinationError(.queryFailed, "malformed append result from the store: \(text.prefix(80))")
        guard case .array(let items) = try? JSONValue.parse(text) else { throw malformed }
        return try items.map { item in
            guard case .object(let m) = item, let stream = m["stream"]?.string,
                let firstVersion = m["firstVersion"]?.int64, let lastVersion = m["lastVersion"]?.int64,
                let firstPosition = m["firstPosition"]?.int64, let lastPosition = m["lastPosition"]?.int64,
                case .array(let ids) = m["eventIDs"]
            else { throw malformed }
            let eventIDs = try ids.map { id -> String in
                guard let text = id.string else { throw malformed }
                return text
            }
            var replayed = false
            if case .bool(let flag) = m["replayed"] { replayed = flag }
            return AppendResult(
                stream: stream, firstVersion: firstVersion, lastVersion: lastVersion, firstPosition: firstPosition,
                lastPosition: lastPosition, eventIDs: eventIDs, replayed: replayed)
        }
    }

    public var stream: String
    /// Version of the first and last appended event.
    public var firstVersion: Int64
    public var lastVersion: Int64
    /// Global positions of the first and last appended event. Positions within one append are
    /// consecutive on SQLite; on PostgreSQL they are increasing but may have gaps.
    public var firstPosition: Int64
    public var lastPosition: Int64
    /// The event ids, in order.
    public var eventIDs: [String]
    /// True when this result was returned from an earlier append with the same idempotency key.
    public var replayed: Bool

    public init(
        stream: String, firstVersion: Int64, lastVersion: Int64, firstPosition: Int64, lastPosition: Int64,
        eventIDs: [String], replayed: Bool
    ) {
        self.stream = stream
        self.firstVersion = firstVersion
        self.lastVersion = lastVersion
        self.firstPosition = firstPosition
        self.lastPosition = lastPosition
        self.eventIDs = eventIDs
        self.replayed = replayed
    }
}

/// An event as stored.
public struct RecordedEvent: Sendable, Hashable {
    /// Global position, unique, increasing in commit order below the safe high-water mark.
    public var position: Int64
    public var stream: String
    /// Per-stream version, starting at 1, no gaps.
    public var version: Int64
    public var id: String
    public var type: String
    /// The JSON text exactly as appended.
    public var data: String
    /// The JSON object text exactly as appended.
    public var metadata: String
    /// Recorded time, nanoseconds since the Unix epoch (UTC).
    public var recordedAtNanos: Int64

    public init(
        position: Int64, stream: String, version: Int64, id: String, type: String, data: String,
        metadata: String, recordedAtNanos: Int64
    ) {
        self.position = position
        self.stream = stream
        self.version = version
        self.id = id
        self.type = type
        self.data = data
        self.metadata = metadata
        self.recordedAtNanos = recordedAtNanos
    }
}

public struct StreamHead: Sendable, Hashable {
    public var stream: String
    /// Current version (number of events ever appended).
    public var version: Int64
    /// Position of the stream's last event.
    public var lastPosition: Int64

    public init(stream: String, version: Int64, lastPosition: Int64) {
        self.stream = stream
        self.version = version
        self.lastPosition = lastPosition
    }
}

public struct StoreStatus: Sendable, Hashable {
    /// Highest position ever assigned (committed or not, on PostgreSQL).
    public var headPosition: Int64
    public var safeHighWaterMark: Int64
    public var flushCursor: Int64
    /// Committed events above the flush cursor.
    public var unflushedCount: Int64
    public var streamCount: Int64
    public var eventCount: Int64
    public var prunedThrough: Int64

    public init(
        headPosition: Int64, safeHighWaterMark: Int64, flushCursor: Int64, unflushedCount: Int64,
        streamCount: Int64, eventCount: Int64, prunedThrough: Int64
    ) {
        self.headPosition = headPosition
        self.safeHighWaterMark = safeHighWaterMark
        self.flushCursor = flushCursor
        self.unflushedCount = unflushedCount
        self.streamCount = streamCount
        self.eventCount = eventCount
        self.prunedThrough = prunedThrough
    }
}

/// How far the flusher is behind: what readiness probes and metrics poll, so it costs an index range, not a count
/// of the whole store.
public struct FlushLag: Sendable, Hashable {
    public var flushCursor: Int64
    /// Committed events above the flush cursor.
    public var unflushedCount: Int64
    public var prunedThrough: Int64

    public init(flushCursor: Int64, unflushedCount: Int64, prunedThrough: Int64) {
        self.flushCursor = flushCursor
        self.unflushedCount = unflushedCount
        self.prunedThrough = prunedThrough
    }
}

/// The archive cursor and what the archive looked like when it last moved.
public struct FlushCursor: Sendable, Hashable {
    /// Everything with position <= this is in a committed snapshot (0: nothing archived).
    public var position: Int64
    /// Hash chain head after the last archived event (hex); empty before the first flush.
    public var chainHead: String
    /// The last committed snapshot id ("" before the first flush).
    public var snapshotID: String
    /// Number of events archived so far.
    public var archivedCount: Int64

    public init(position: Int64, chainHead: String, snapshotID: String, archivedCount: Int64) {
        self.position = position
        self.chainHead = chainHead
        self.snapshotID = snapshotID
        self.archivedCount = archivedCount
    }
}

/// What a flush will write, recorded before anything is uploaded so that a retry writes the same keys.
public struct FlushIntent: Sendable, Hashable {
    public var snapshotID: String
    /// First and last position covered (inclusive).
    public var firstPosition: Int64
    public var lastPosition: Int64
    /// Number of events in the range.
    public var eventCount: Int64
    /// Chain hash the snapshot starts from (the cursor's chain head at intent time).
    public var chainStart: String
    /// Chain head after the last event of the snapshot.
    public var chainHead: String
    /// Parent snapshot id ("" for the first).
    public var parentSnapshotID: String
    /// Optional cut point name.
    public var cutName: String?
    public var fencingToken: Int64

    public init(
        snapshotID: String, firstPosition: Int64, lastPosition: Int64, eventCount: Int64, chainStart: String,
        chainHead: String, parentSnapshotID: String, cutName: String?, fencingToken: Int64
    ) {
        self.snapshotID = snapshotID
        self.firstPosition = firstPosition
        self.lastPosition = lastPosition
        self.eventCount = eventCount
        self.chainStart = chainStart
        self.chainHead = chainHead
        self.parentSnapshotID = parentSnapshotID
        self.cutName = cutName
        self.fencingToken = fencingToken
    }
}

public struct Lease: Sendable, Hashable {
    public var name: String
    public var holder: String
    /// Increases every time the lease changes hands; recorded in manifests so a stale holder cannot commit.
    public var fencingToken: Int64
    /// Expiry, seconds since the Unix epoch.
    public var expiresAt: Double

    public init(name: String, holder: String, fencingToken: Int64, expiresAt: Double) {
        self.name = name
        self.holder = holder
        self.fencingToken = fencingToken
        self.expiresAt = expiresAt
    }
}

/// A subject's data key, or the tombstone left when it was forgotten.
public enum SubjectKey: Sendable, Hashable {
    /// 32 bytes (AES-256).
    case active([UInt8])
    /// Destroyed at this time (microseconds since the epoch).
    case forgotten(atMicros: Int64)

    /// Parses the stored form: 64 hex digits, or nil for a forgotten key.
    public init?(hex: String?, forgottenAtMicros: Int64?) {
        guard let hex else {
            self = .forgotten(atMicros: forgottenAtMicros ?? 0)
            return
        }
        var bytes: [UInt8] = []
        var iterator = hex.utf8.makeIterator()
        func nibble(_ c: UInt8) -> UInt8? {
            switch c {
            case 48...57: c - 48
            case 97...102: c - 87
            default: nil
            }
        }
        while let high = iterator.next() {
            guard let low = iterator.next(), let h = nibble(high), let l = nibble(low) else { return nil }
            bytes.append(h << 4 | l)
        }
        guard bytes.count == 32 else { return nil }
        self = .active(bytes)
    }

    /// A key as the stores keep it (64 hex digits, or NULL and the time it was forgotten).
    /// - Throws: ``CoordinationError`` `.queryFailed` when the stored text is not a key.
    public static func stored(_ hex: String?, _ forgottenAtMicros: Int64?) throws -> SubjectKey {
        guard let key = SubjectKey(hex: hex, forgottenAtMicros: forgottenAtMicros) else {
            throw CoordinationError(
                .queryFailed, "a stored subject key is malformed: the subject_keys table was altered")
        }
        return key
    }

    /// 32 fresh random bytes, as stored (64 lowercase hex digits).
    public static func generateHex() -> String {
        var generator = SystemRandomNumberGenerator()
        return LowercaseHex.encode((0..<32).map { _ in UInt8.random(in: 0...255, using: &generator) })
    }
}

/// What `forgetSubject` did.
public struct ForgetResult: Sendable, Hashable {
    /// False when the subject had no key or was already forgotten.
    public var destroyedKey: Bool
    /// Hot events whose data was replaced.
    public var redactedHotEvents: Int

    public init(destroyedKey: Bool, redactedHotEvents: Int) {
        self.destroyedKey = destroyedKey
        self.redactedHotEvents = redactedHotEvents
    }
}

public struct ConsumerCheckpoint: Sendable, Hashable {
    public var name: String
    public var position: Int64
    public init(name: String, position: Int64) {
        self.name = name
        self.position = position
    }
}

public struct MigrationRecord: Sendable, Hashable {
    public var version: Int
    public var name: String
    /// SHA-256 hex of the SQL text.
    public var checksum: String
    /// True if applied by this call.
    public var appliedNow: Bool

    public init(version: Int, name: String, checksum: String, appliedNow: Bool) {
        self.version = version
        self.name = name
        self.checksum = checksum
        self.appliedNow = appliedNow
    }
}
