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
    /// The projection is a ``DataValueProjection``: it gets data members no rule names as archived, and the
    /// archived line with only the data replaced.
    let readsDataValueOnly: Bool
    var form: PartialData.Form { readsDataValueOnly ? .asArchived : .canonical }
    private var line: [UInt8] = []
    private var data: [UInt8] = []
    private var scratch = MemberScratch()
    private var buffers = PartialData.Buffers()

    public init(_ inner: Inner, rules: UpcastRuleSet) throws {
        self.inner = inner
        self.upcaster = Upcaster(rules)
        self.exec = try rules.exec.map { try ExecProjection(command: $0) }
        self.readsDataValueOnly = exec == nil && Inner.self is any DataValueProjection.Type
    }

    public var identity: ProjectionIdentity { inner.identity }

    public mutating func apply(_ event: ReplayEvent) throws {
        let quotedType = UnsafeRawBufferPointer(rebasing: event.line[event.fields.type])
        guard let type = upcaster.typeIndex(quotedType: quotedType) else { return try deliver(event) }
        let version = try Self.catching(event) { try upcaster.schemaVersion(metadata: event.metadata) }
        let chain = upcaster.chain(type: type, version: version)
        switch chain.outcome {
        case .unchanged: return try deliver(event)
        case .loops(let rule): throw Upcaster.loops(rule, eventID: event.id)
        case .tree: return try applyToWholeTree(event)
        case .edits: break
        }
        // Most members of a large event are nothing the rules read: those stay bytes (``PartialData``).
        // The as-archived form checks the members the rules name; the projection checks the others.
        if form == .canonical {
            do { try RawJSON.validate(event.data) } catch { throw Self.notJSON(event, error) }
        }
        var (scratch, buffers) = (MemberScratch(), PartialData.Buffers())
        swap(&scratch, &self.scratch)
        swap(&buffers, &self.buffers)
        defer {
            swap(&scratch, &self.scratch)
            swap(&buffers, &self.buffers)
        }
        let form = form
        guard
            var partial = try Self.catching(
                event,
                { try PartialData(event.data, keys: chain.keys, form: form, scratch: &scratch, buffers: &buffers) })
        else { return try applyToWholeTree(event) }
        defer { partial.release(&scratch, into: &buffers) }
        try Self.catching(event) { try partial.named.apply(chain.edits) }
        guard !chain.dropped else { return }
        try deliver(try envelope(event, chain), of: event) { _, out in partial.write(to: &out, scratch: &scratch) }
    }

    /// The id, type and metadata `chain` gives `event` (its data is written apart). A data-value projection
    /// reads none of them: it gets empty ones, and no metadata is parsed for it.
    private func envelope(_ event: ReplayEvent, _ chain: UpcastChain) throws -> UpcastEvent {
        guard !readsDataValueOnly else { return UpcastEvent(id: "", type: "", data: .null, metadata: .null) }
        var metadata = try Self.parse(event.metadata, event)
        if let version = chain.version {
            metadata = UpcastRule.setting(upcaster.ruleSet.versionKey, .number(String(version)), in: metadata)
        }
        return UpcastEvent(id: event.id, type: chain.type, data: .null, metadata: metadata)
    }

    /// The rules on a tree of all of `data`: when a step works on the whole object, or `data` is not an object.
    private mutating func applyToWholeTree(_ event: ReplayEvent) throws {
        let metadata = try Self.parse(event.metadata, event)
        let data = try Self.parse(event.data, event)
        let results = try upcaster.apply(UpcastEvent(id: event.id, type: event.type, data: data, metadata: metadata))
        for result in results ?? [] { try deliver(result, of: event) { $0.write(to: &$1) } }
    }

    /// Delivers one upcast event, its `data` written by `writeData`.
    ///
    /// Projections read ``ReplayEvent/data``, which need not lie in the line (a decrypted event's does not
    /// either): the line carries `{}` in its place, so decoding it does not scan the event's data again.
    private mutating func deliver(
        _ result: UpcastEvent, of event: ReplayEvent, writeData: (JSONValue, inout [UInt8]) -> Void
    ) throws {
        data.removeAll(keepingCapacity: true)
        writeData(result.data, &data)
        if readsDataValueOnly {
            var data: [UInt8] = []
            swap(&data, &self.data)
            defer { swap(&data, &self.data) }
            return try data.withUnsafeBytes {
                try deliver(ReplayEvent(line: event.line, fields: event.fields, data: $0))
            }
        }
        let metadata = result.metadata.serialize()
        var line: [UInt8] = []
        swap(&line, &self.line)
        defer { swap(&line, &self.line) }
        line.removeAll(keepingCapacity: true)
        var (stream, id, type) = (event.stream, result.id, result.type)
        stream.withUTF8 { stream in
            id.withUTF8 { id in
                type.withUTF8 { type in
                    metadata.withUnsafeBytes { metadata in
                        // A record line without its chain (no hash to compute): the decoder needs the shape.
                        RecordEncoder.appendBody(
                            position: event.position, stream: UnsafeRawBufferPointer(stream),
                            version: event.version, id: UnsafeRawBufferPointer(id),
                            type: UnsafeRawBufferPointer(type), recordedAtNanos: event.recordedAtNanos,
                            data: Self.emptyObject, metadata: metadata, into: &line)
                    }
                }
            }
        }
        line.append(contentsOf: RenderedEvent.placeholderHash)
        var data: [UInt8] = []
        swap(&data, &self.data)
        defer { swap(&data, &self.data) }
        try line.withUnsafeBytes { bytes in
            let fields = try RecordDecoder.decode(bytes)
            try data.withUnsafeBytes { try deliver(ReplayEvent(line: bytes, fields: fields, data: $0)) }
        }
    }

    private static var emptyObject: UnsafeRawBufferPointer {
        let text: StaticString = "{}"
        return UnsafeRawBufferPointer(start: text.utf8Start, count: text.utf8CodeUnitCount)
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
        try catching(event) { try JSONValue.parse(bytes) }
    }

    static func catching<T>(_ event: ReplayEvent, _ body: () throws -> T) throws -> T {
        do { return try body() } catch { throw notJSON(event, error) }
    }

    static func notJSON(_ event: ReplayEvent, _ error: any Error) -> ArchiverError {
        ArchiverError(.invalidData, "event at position \(event.position) has data that is not JSON: \(error)")
    }
}
