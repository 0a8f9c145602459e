import ArchiveFormat
import RawJSON

/// Per stream: the count of events and the sum of one numeric field of `data` (events without the field,
/// or with a non-number there, count but add nothing). The benchmark's reference fold.
///
/// Row: `{"stream":"account-42","version":7,"position":1234,"count":7,"sum":250.5}`.
public struct FieldSumFold: Projection, PartitionableFold {
    public let field: String
    struct Total {
        var version: Int64 = 0
        var position: Int64 = 0
        var count: Int64 = 0
        var sum: Double = 0

        mutating func update(version: Int64, position: Int64, add value: Double) {
            self.version = version
            self.position = position
            count += 1
            sum += value
        }
    }

    var totals = StreamTable<Total>()

    public init(field: String) {
        self.field = field
    }

    public var identity: ProjectionIdentity { ProjectionIdentity(name: "sum-\(field)", version: "1") }

    public mutating func apply(_ event: ReplayEvent) throws {
        var value = 0.0
        var scanner = try ObjectScanner(event.data)
        while let member = try scanner.next() {
            if scanner.key(member, equals: field) {
                value = scanner.double(member) ?? 0
                break
            }
        }
        let entry = totals.entry(of: event) { Total() }
        totals[entry].update(version: event.version, position: event.position, add: value)
        // JSON has no infinity or NaN: a row holding one would be invalid JSON, so the replay stops here.
        guard totals[entry].sum.isFinite else {
            throw ArchiverError(
                .invalidData,
                "stream '\(event.stream)': the sum of data.\(field) is no longer a finite number at position "
                    + "\(event.position) (a value or the running sum exceeds ±1.8e308): sum a smaller unit or "
                    + "use an --exec projector")
        }
    }

    public func rows() throws -> [ProjectedRow] { try rowStream.collect() }

    /// Each row is made in one reused buffer as the sink takes it.
    public var rowStream: RowStream { Self.rowStream(merging: [self]) }

    static func rowStream(merging parts: [FieldSumFold]) -> RowStream {
        StreamTable<Total>.rowStream(merging: parts.map(\.totals)) { (_, t: Total, out: inout [UInt8]) in
            out.append(
                contentsOf:
                    #","version":\#(t.version),"position":\#(t.position),"count":\#(t.count),"sum":\#(formatNumber(t.sum))}"#
                    .utf8)
        }
    }

    public mutating func restore(rows: [ProjectedRow]) throws {
        totals = StreamTable()
        for row in rows {
            guard case .object(let m) = try JSONValue.parse(row.json), let stream = m["stream"]?.string,
                let version = m["version"]?.int64, let position = m["position"]?.int64,
                let count = m["count"]?.int64, let sum = m["sum"]?.double
            else { throw ArchiverError(.unreadable, "aggregate snapshot row \(row.key) is not a sum row") }
            let entry = totals.entry(named: stream) { Total() }
            totals[entry] = Total(version: version, position: position, count: count, sum: sum)
        }
    }
}

/// Integral values print without a fraction; others with Swift's shortest round-trip form.
func formatNumber(_ value: Double) -> String {
    if value == value.rounded(), abs(value) < 1e15 { return String(Int64(value)) }
    return "\(value)"
}

/// Appends `value` in decimal, as `String(value)` writes it, without making a `String`.
func appendDecimal(_ value: Int64, to out: inout [UInt8]) {
    if value < 0 {
        out.append(UInt8(ascii: "-"))
        // The magnitude of Int64.min does not fit an Int64: work on the unsigned one.
        appendDecimal(value.magnitude, to: &out)
    } else {
        appendDecimal(UInt64(value), to: &out)
    }
}

private func appendDecimal(_ value: UInt64, to out: inout [UInt8]) {
    var digits: (UInt64, UInt64, UInt64) = (0, 0, 0)  // room for 20 digits, written from the end
    var count = 0
    var rest = value
    withUnsafeMutableBytes(of: &digits) { room in
        repeat {
            count += 1
            room[24 - count] = UInt8(ascii: "0") + UInt8(rest % 10)
            rest /= 10
        } while rest > 0
        out.append(contentsOf: room[(24 - count)..<24])
    }
}
