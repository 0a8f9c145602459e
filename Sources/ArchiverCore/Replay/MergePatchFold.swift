import ArchiveFormat
import RawJSON

/// The built-in fold: per stream, the JSON merge patch (RFC 7386) of every event's `data`, with the
/// stream's version and last position. Useful with no code at all.
///
/// Row: `{"stream":"account-42","version":7,"position":1234,"state":{…}}`. The state is compact, its keys
/// sorted by their UTF-8 bytes, strings quoted as ``RawJSON/appendQuoted(_:to:)`` quotes them, numbers as
/// written. Keys are compared as bytes (escapes resolved), as RFC 7386 compares them.
///
/// Each event is merged over bytes (``RawMergePatch``): the state is kept in canonical form but for the arrays
/// and strings that patches replaced (canonicalized when the row is written), and only the objects a patch
/// merges into are taken apart.
public struct MergePatchFold: Projection, PartitionableFold {
    struct Aggregate {
        var version: Int64 = 0
        var position: Int64 = 0
        var state = StateArena.Slot()
    }

    var aggregates = StreamTable<Aggregate>()
    var states = StateArena()
    private var merger = RawMergePatch()

    public init() {}

    public var identity: ProjectionIdentity { ProjectionIdentity(name: "fold", version: "1") }

    public mutating func apply(_ event: ReplayEvent) throws {
        let entry = aggregates.entry(of: event) { Aggregate() }
        try merge(event.data, into: entry, version: event.version, position: event.position)
    }

    /// ``apply(_:)`` for a stream given by name (tests, restores).
    mutating func apply(stream: String, version: Int64, position: Int64, data: UnsafeRawBufferPointer) throws {
        let entry = aggregates.entry(named: stream) { Aggregate() }
        try merge(data, into: entry, version: version, position: position)
    }

    private mutating func merge(
        _ patch: UnsafeRawBufferPointer, into entry: Int, version: Int64, position: Int64
    )
        throws
    {
        var aggregate = aggregates[entry]
        // Moved out for the merge (and back): the merger writes while the state it reads is borrowed.
        var merger = RawMergePatch()
        swap(&merger, &self.merger)
        defer { swap(&merger, &self.merger) }
        try merger.validate(patch)
        states.withState(aggregate.state) { merger.merge(target: $0, patch: patch) }
        states.store(merger.output, in: &aggregate.state)
        aggregate.version = version
        aggregate.position = position
        aggregates[entry] = aggregate
        if states.needsCompaction { states.compact(&aggregates, slot: \.state) }
    }

    public func rows() throws -> [ProjectedRow] { try rowStream.collect() }

    /// Each row is made in one reused buffer as the sink takes it.
    public var rowStream: RowStream { Self.rowStream(merging: [self]) }

    static func rowStream(merging parts: [MergePatchFold]) -> RowStream {
        let states = parts.map(\.states)
        var members = MemberScratch()
        return StreamTable<Aggregate>.rowStream(merging: parts.map(\.aggregates)) {
            (part: Int, aggregate: Aggregate, out: inout [UInt8]) in
            out.append(contentsOf: #","version":"#.utf8)
            appendDecimal(aggregate.version, to: &out)
            out.append(contentsOf: #","position":"#.utf8)
            appendDecimal(aggregate.position, to: &out)
            out.append(contentsOf: #","state":"#.utf8)
            states[part].withState(aggregate.state) { state in
                guard let state else { return out.append(contentsOf: "null".utf8) }
                CanonicalJSON.appendStored(state, to: &out, members: &members)
            }
            out.append(UInt8(ascii: "}"))
        }
    }

    public mutating func restore(rows: [ProjectedRow]) throws {
        aggregates = StreamTable()
        states = StateArena()
        for row in rows {
            var json = row.json
            try json.withUTF8 { bytes in
                guard let fields = try? FoldRowFields(UnsafeRawBufferPointer(bytes)) else {
                    throw ArchiverError(.unreadable, "aggregate snapshot row \(row.key) is not a fold row")
                }
                let entry = aggregates.entry(named: fields.stream) { Aggregate() }
                var aggregate = Aggregate(version: fields.version, position: fields.position)
                var merger = RawMergePatch()
                merger.canonicalize(fields.state)
                states.store(merger.output, in: &aggregate.state)
                aggregates[entry] = aggregate
            }
        }
    }
}

/// The members of a fold row (the last of duplicate keys wins).
private struct FoldRowFields {
    var stream: String
    var version: Int64
    var position: Int64
    var state: UnsafeRawBufferPointer

    init(_ row: UnsafeRawBufferPointer) throws {
        var stream: String?
        var version: Int64?
        var position: Int64?
        var state: UnsafeRawBufferPointer?
        var scanner = try ObjectScanner(row)
        while let member = try scanner.next() {
            if scanner.key(member, equals: "stream") {
                stream = scanner.string(member)
            } else if scanner.key(member, equals: "version") {
                version = scanner.int64(member)
            } else if scanner.key(member, equals: "position") {
                position = scanner.int64(member)
            } else if scanner.key(member, equals: "state") {
                state = scanner.value(member)
            }
        }
        guard let stream, let version, let position, let state else { throw ArchiverError(.unreadable, "") }
        (self.stream, self.version, self.position, self.state) = (stream, version, position, state)
    }
}
