import ArchiveFormat
import RawJSON

/// What an archive holds, for `archiver upcast check` and `preview`: the (type, schema version) pairs of its
/// events with their counts, and the first events of one type.
public struct UpcastSurvey: Sendable {
    /// An event type and its schema version (nil: the metadata's version is not a whole number).
    public struct Key: Sendable, Hashable, Comparable, CustomStringConvertible {
        public var type: String
        public var version: Int64?

        public init(type: String, version: Int64?) {
            self.type = type
            self.version = version
        }

        public static func < (a: Key, b: Key) -> Bool {
            (a.type, a.version ?? -1) < (b.type, b.version ?? -1)
        }

        public var description: String { "\(type) v\(version.map(String.init) ?? "?")" }
    }

    public var counts: [Key: Int64] = [:]
    /// Rendered events (the `replay --exec` line) of the sampled type, in position order.
    public var samples: [[UInt8]] = []

    /// Reads `plan` through `replayer` (whose filter selects the events).
    public static func run(
        replayer: Replayer, plan: ReadPlan, versionKey: String, sampleType: String? = nil, sampleLimit: Int = 0
    ) async throws -> UpcastSurvey {
        var collector = Collector(versionKey: versionKey, sampleType: sampleType, sampleLimit: sampleLimit)
        _ = try await replayer.run(&collector, plan: plan)
        return collector.survey
    }

    struct Collector: Projection {
        let versionKey: String
        let sampleType: String?
        let sampleLimit: Int
        var survey = UpcastSurvey()

        var identity: ProjectionIdentity { ProjectionIdentity(name: "upcast-survey", version: "1") }

        mutating func apply(_ event: ReplayEvent) throws {
            let metadata = (try? JSONValue.parse(event.metadata)) ?? .object([:])
            let probe = UpcastEvent(id: "", type: event.type, data: .null, metadata: metadata)
            survey.counts[Key(type: probe.type, version: probe.schemaVersion(key: versionKey)), default: 0] += 1
            if probe.type == sampleType, survey.samples.count < sampleLimit {
                var line: [UInt8] = []
                RenderedEvent.append(event, to: &line)
                survey.samples.append(line)
            }
        }

        func rows() throws -> [ProjectedRow] { [] }
        mutating func restore(rows: [ProjectedRow]) throws {}
    }
}
