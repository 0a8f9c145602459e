import ArchiverCore
import Coordination
import HTTPTypes

/// The hand-written JSON of event lists, shared by the read routes and the event stream.
enum EventPage {
    /// Which tier answered a read: `archive`, `store` or `mixed` (``ReadTier``); the body is the same either way.
    static let tierHeader = HTTPField.Name("Archiver-Tier")!

    static func tierHeaders(_ tier: ReadTier) -> HTTPFields {
        [tierHeader: tier.rawValue]
    }

    /// `[EVENT,…]`, each event as ``EventJSON/write(_:to:)`` writes it.
    static func appendEvents(_ events: [RecordedEvent], to out: inout [UInt8]) {
        out.append(UInt8(ascii: "["))
        for (i, event) in events.enumerated() {
            if i > 0 { out.append(UInt8(ascii: ",")) }
            EventJSON.write(event, to: &out)
        }
        out.append(UInt8(ascii: "]"))
    }

    /// `{"events":[…],"last_position":N}` plus a newline: a page of the global order.
    static func globalPage(_ events: [RecordedEvent], after: Int64) -> [UInt8] {
        var out: [UInt8] = Array(#"{"events":"#.utf8)
        appendEvents(events, to: &out)
        out.append(contentsOf: #","last_position":\#(events.last?.position ?? after)}"#.utf8)
        out.append(UInt8(ascii: "\n"))
        return out
    }
}
