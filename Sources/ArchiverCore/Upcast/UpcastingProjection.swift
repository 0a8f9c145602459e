import ArchiveFormat
import Foundation
import RawJSON

/// Presents the upcast view of each event to another projection: the one place replay applies upcasters, so
/// the built-in folds, `--exec` projectors and Swift ``Projection``s all see the same events.
///
/// Events no rule matches reach the projection as they are (no JSON tree is built for them). With an
/// `--upcast-exec` command, every event the rules produce goes to that child (the `replay --exec` protocol);
/// its output lines are the events, handed to the projection in ``finish()``.
public struct UpcastingProjection<Inner: Projection>: Projection {
    public private(set) var inner: Inner
    let upcaster: Upcaster
    let exec: ExecProjection?
    private var line: [UInt8] = []

    public init(_ inner: Inner, rules: UpcastRuleSet) throws {
        self.inner = inner
        self.upcaster = Upcaster(rules)
        self.exec = try rules.exec.map { try ExecProjection(command: $0) }
    }

    public var identity: ProjectionIdentity { inner.identity }

    public mutating func apply(_ event: ReplayEvent) throws {
        let quotedType = UnsafeRawBufferPointer(rebasing: event.line[event.fields.type])
        guard upcaster.mayMatch(quotedType: quotedType),
            let results = try upcaster.apply(
                UpcastEvent(
                    id: event.id, type: event.type, data: try Self.parse(event.data, event),
                    metadata: try Self.parse(event.metadata, event)))
        else { return try deliver(event) }
        for result in results {
            line.removeAll(keepingCapacity: true)
            // A record line without its chain (no hash to compute): the decoder needs the shape, not the hash.
            RecordEncoder.appendBody(
                position: event.position, stream: event.stream, version: event.version, id: result.id,
                type: result.type, recordedAtNanos: event.recordedAtNanos, data: result.data.serializedString,
                metadata: result.metadata.serializedString, into: &line)
            line.append(contentsOf: RenderedEvent.placeholderHash)
            try line.withUnsafeBytes { bytes in
                let fields = try RecordDecoder.decode(bytes)
                try deliver(
                    ReplayEvent(line: bytes, fields: fields, data: UnsafeRawBufferPointer(rebasing: bytes[fields.data]))
                )
            }
        }
    }

    private mutating func deliver(_ event: ReplayEvent) throws {
        if let exec { try exec.apply(event) } else { try inner.apply(event) }
    }

    /// Hands the `--upcast-exec` child's output to the projection; call once after the last event.
    public mutating func finish() throws {
        guard let exec else { return }
        for (index, row) in try exec.rows().enumerated() {
            var text = row.json
            try text.withUTF8 { bytes in
                var record: [UInt8] = []
                let fields = try RenderedEvent.recordLine(
                    UnsafeRawBufferPointer(bytes), into: &record, source: "upcast-exec output line \(index + 1)")
                try record.withUnsafeBytes { line in
                    try inner.apply(
                        ReplayEvent(
                            line: line, fields: fields, data: UnsafeRawBufferPointer(rebasing: line[fields.data])))
                }
            }
        }
    }

    public func rows() throws -> [ProjectedRow] { try inner.rows() }

    public mutating func restore(rows: [ProjectedRow]) throws { try inner.restore(rows: rows) }

    static func parse(_ bytes: UnsafeRawBufferPointer, _ event: ReplayEvent) throws -> JSONValue {
        do {
            return try JSONValue.parse(bytes)
        } catch {
            throw ArchiverError(.invalidData, "event at position \(event.position) has data that is not JSON: \(error)")
        }
    }
}
