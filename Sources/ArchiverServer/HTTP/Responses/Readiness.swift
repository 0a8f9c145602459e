/// `GET /ready`: `{"ready":…,"checks":{"store":…,"archive":…,"flush_lag":…},"unflushed_events":…,
/// "lag_seconds":…,"flush_lease_held":…}`. A check is `ok` or says what is wrong.
struct Readiness: Encodable, Sendable {
    struct Checks: Encodable, Sendable {
        var store = "ok"
        var archive = "ok"
        var flushLag = "ok"

        enum CodingKeys: String, CodingKey {
            case store, archive
            case flushLag = "flush_lag"
        }

        var allOK: Bool { store == "ok" && archive == "ok" && flushLag == "ok" }
    }

    var ready: Bool
    var checks: Checks
    var unflushedEvents: Int64
    var lagSeconds: Int
    var flushLeaseHeld: Bool

    enum CodingKeys: String, CodingKey {
        case ready, checks
        case unflushedEvents = "unflushed_events"
        case lagSeconds = "lag_seconds"
        case flushLeaseHeld = "flush_lease_held"
    }
}
