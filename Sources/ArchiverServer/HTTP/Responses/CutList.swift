import ArchiveFormat
import ArchiverCore
import Lode

/// `GET /cuts`: `{"cuts":[{"name":…,"snapshot":…,"first_position":…,"last_position":…,"events":…,"created_at":…}]}`.
struct CutList: Encodable, Sendable {
    struct Cut: Encodable, Sendable {
        /// nil for a snapshot without a name (listed with `all=true`); written as `null`.
        var name: String?
        var snapshot: String
        var firstPosition: Int64
        var lastPosition: Int64
        var events: Int64
        var createdAt: String

        enum CodingKeys: String, CodingKey {
            case name, snapshot, events
            case firstPosition = "first_position"
            case lastPosition = "last_position"
            case createdAt = "created_at"
        }

        init(_ cut: CutPoint) {
            name = cut.name
            snapshot = cut.snapshotID
            firstPosition = Int64(cut.facts.firstPosition)
            lastPosition = Int64(cut.facts.lastPosition)
            events = Int64(cut.facts.eventCount)
            createdAt = cut.manifest.createdAt
        }

        func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(name, forKey: .name)
            try container.encode(snapshot, forKey: .snapshot)
            try container.encode(firstPosition, forKey: .firstPosition)
            try container.encode(lastPosition, forKey: .lastPosition)
            try container.encode(events, forKey: .events)
            try container.encode(createdAt, forKey: .createdAt)
        }
    }

    var cuts: [Cut]
}
