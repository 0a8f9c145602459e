import ArchiverCore

/// `POST /flush` and `POST /cuts/{name}`: `{"events":…,"snapshots":[…],"last_position":…,"bytes_in":…,
/// "bytes_out":…,"cut":NAME-or-null}`.
struct FlushResult: Encodable, Sendable {
    var events: Int64
    var snapshots: [String]
    var lastPosition: Int64
    var bytesIn: Int64
    var bytesOut: Int64
    /// Written as `null` when the pass named no cut.
    var cut: String?

    enum CodingKeys: String, CodingKey {
        case events, snapshots, cut
        case lastPosition = "last_position"
        case bytesIn = "bytes_in"
        case bytesOut = "bytes_out"
    }

    init(_ summary: FlushSummary) {
        events = Int64(summary.events)
        snapshots = summary.snapshotIDs
        lastPosition = summary.lastPosition
        bytesIn = Int64(summary.bytesIn)
        bytesOut = Int64(summary.bytesOut)
        cut = summary.cutName
    }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(events, forKey: .events)
        try container.encode(snapshots, forKey: .snapshots)
        try container.encode(lastPosition, forKey: .lastPosition)
        try container.encode(bytesIn, forKey: .bytesIn)
        try container.encode(bytesOut, forKey: .bytesOut)
        try container.encode(cut, forKey: .cut)
    }
}
