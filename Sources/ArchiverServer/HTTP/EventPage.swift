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

    /// The upcaster a read asks for with `?upcast=true`.
    /// - Throws: ``APIError`` 422 for another value, or when the server has no `upcasters:` section.
    static func upcaster(_ query: QueryParameter.Query, api: ArchiverAPI) throws -> Upcaster? {
        guard try QueryParameter.flag(query, "upcast") else { return nil }
        guard let upcaster = api.upcaster else {
            throw APIError(
                .unprocessableContent, "no-upcasters",
                "upcast=true needs an upcasters: section in the server's archiver.yaml (docs/REPLAY.md \"Upcasting\")")
        }
        return upcaster
    }

    /// `[EVENT,…]`, each event as ``EventJSON/write(_:to:)`` writes it; with an upcaster, each event as the
    /// events it becomes (an event may become several, or none).
    static func appendEvents(_ events: [RecordedEvent], upcaster: Upcaster? = nil, to out: inout [UInt8]) throws {
        out.append(UInt8(ascii: "["))
        if let upcaster {
            var first = true
            for event in events {
                for line in try upcast(event, upcaster) {
                    if !first { out.append(UInt8(ascii: ",")) }
                    first = false
                    out.append(contentsOf: line)
                }
            }
        } else {
            for (i, event) in events.enumerated() {
                if i > 0 { out.append(UInt8(ascii: ",")) }
                EventJSON.write(event, to: &out)
            }
        }
        out.append(UInt8(ascii: "]"))
    }

    /// The JSON of the events `event` becomes under `upcaster`.
    static func upcast(_ event: RecordedEvent, _ upcaster: Upcaster) throws -> [[UInt8]] {
        var line: [UInt8] = []
        EventJSON.write(event, to: &line)
        return try line.withUnsafeBytes { try upcaster.upcast(rendered: $0) }
    }

    /// `{"events":[…],"last_position":N}` plus a newline: a page of the global order. `last_position` is the
    /// stored position of the page's last event, whatever an upcaster made of it.
    static func globalPage(_ events: [RecordedEvent], after: Int64, upcaster: Upcaster? = nil) throws -> [UInt8] {
        var out: [UInt8] = Array(#"{"events":"#.utf8)
        try appendEvents(events, upcaster: upcaster, to: &out)
        out.append(contentsOf: #","last_position":\#(events.last?.position ?? after)}"#.utf8)
        out.append(UInt8(ascii: "\n"))
        return out
    }
}
