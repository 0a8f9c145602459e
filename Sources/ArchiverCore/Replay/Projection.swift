import ArchiveFormat
import Foundation

/// One archived event as a projection sees it. The byte buffers (and the record they point into) are valid
/// only during the call that receives the event; copy what must outlive it.
///
/// The text members are made from the record's bytes when asked for, so a projection pays only for what it
/// reads.
public struct ReplayEvent {
    let line: UnsafeRawBufferPointer
    let fields: RecordFields
    /// The event's `data` JSON, byte for byte as appended (decrypted when it was archived encrypted).
    public var data: UnsafeRawBufferPointer

    init(line: UnsafeRawBufferPointer, fields: RecordFields, data: UnsafeRawBufferPointer) {
        self.line = line
        self.fields = fields
        self.data = data
    }

    public var position: Int64 { fields.position }
    public var stream: String { RecordDecoder.string(line, fields.stream) }
    /// ``StreamHash/fnv1a64(_:)`` of ``stream``, already computed.
    public var streamHash: UInt64 { fields.streamHash }
    public var version: Int64 { fields.version }
    public var id: String { RecordDecoder.string(line, fields.id) }
    public var type: String { RecordDecoder.string(line, fields.type) }
    public var recordedAtNanos: Int64 { fields.recordedAtNanos }
    /// The event's `metadata` JSON object.
    public var metadata: UnsafeRawBufferPointer { UnsafeRawBufferPointer(rebasing: line[fields.metadata]) }

    /// Calls `body` with the UTF-8 bytes of ``stream`` (without making a `String` when the name has no escapes).
    public func withStreamName<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        let inner = UnsafeRawBufferPointer(
            rebasing: line[(fields.stream.lowerBound + 1)..<(fields.stream.upperBound - 1)])
        if memchr(inner.baseAddress!, 0x5C, inner.count) == nil { return try body(inner) }
        var name = stream
        return try name.withUTF8 { try body(UnsafeRawBufferPointer($0)) }
    }

    public var dataString: String { String(decoding: data, as: UTF8.self) }
    public var metadataString: String { String(decoding: metadata, as: UTF8.self) }
}

/// Names a projection and its code version. Aggregate snapshots are reused only by a projection with the
/// same identity.
public struct ProjectionIdentity: Sendable, Hashable, CustomStringConvertible {
    public var name: String
    public var version: String

    public init(name: String, version: String) {
        self.name = name
        self.version = version
    }

    public var description: String { "\(name)@\(version)" }
}

/// A row of projected state: a key (e.g. the stream) and a JSON object.
public struct ProjectedRow: Sendable, Hashable {
    public var key: String
    public var json: String

    public init(key: String, json: String) {
        self.key = key
        self.json = json
    }
}

/// A read model rebuilt from the archive.
///
/// Implement it in Swift and hand it to ``Replayer``; see `examples/ProjectionExample` for a complete one.
///
/// ```swift
/// struct Balances: Projection {
///     var identity: ProjectionIdentity { ProjectionIdentity(name: "balances", version: "1") }
///     var balances: [String: Int64] = [:]
///     mutating func apply(_ event: ReplayEvent) throws { … }
///     func rows() -> [ProjectedRow] { … }
///     mutating func restore(rows: [ProjectedRow]) throws { … }
/// }
/// ```
public protocol Projection {
    var identity: ProjectionIdentity { get }
    /// Called for every selected event, in global position order.
    mutating func apply(_ event: ReplayEvent) throws
    /// The state, one row per key, sorted by key: what sinks write and aggregate snapshots store.
    func rows() throws -> [ProjectedRow]
    /// Replaces the state with rows from ``rows()`` (of a projection with the same identity).
    mutating func restore(rows: [ProjectedRow]) throws
    /// The rows of ``rows()``, made one at a time as a sink takes them (default: ``rows()``, built first).
    var rowStream: RowStream { get }
}

extension Projection {
    public var rowStream: RowStream {
        let projection = self
        return RowStream { body in try RowStream(try projection.rows()).forEach(body) }
    }
}
