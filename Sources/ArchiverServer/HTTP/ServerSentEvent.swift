import ArchiverCore
import Coordination
import RawJSON

/// The `text/event-stream` framing of one recorded event (https://html.spec.whatwg.org/multipage/server-sent-events.html).
///
/// An event's `data` is stored byte for byte, so its JSON may hold line breaks (as insignificant whitespace).
/// Written raw onto one `data:` line, a blank line inside it would end the event early. Each line of the payload
/// is therefore its own `data:` line; a client joins them with `\n` and gets the payload back exactly (a `\r`
/// comes back as `\n`, the same JSON).
enum ServerSentEvent {
    /// Appends `id: POSITION`, `event: TYPE`, the `data:` lines and the blank line that ends the event.
    static func append(_ event: RecordedEvent, to out: inout [UInt8]) {
        out.append(contentsOf: "id: \(event.position)\nevent: ".utf8)
        out.append(contentsOf: event.type.utf8.filter { $0 != UInt8(ascii: "\n") && $0 != UInt8(ascii: "\r") })
        out.append(UInt8(ascii: "\n"))
        var payload: [UInt8] = []
        EventJSON.write(event, to: &payload)
        appendData(payload, to: &out)
        out.append(UInt8(ascii: "\n"))
    }

    /// With an upcaster, one block per event `event` becomes, each with the stored event's position as its id
    /// (so `Last-Event-ID` resumes after the whole stored event) and its own upcast type.
    static func append(_ event: RecordedEvent, upcaster: Upcaster?, to out: inout [UInt8]) throws {
        guard let upcaster else { return append(event, to: &out) }
        for payload in try EventPage.upcast(event, upcaster) {
            out.append(contentsOf: "id: \(event.position)\nevent: ".utf8)
            out.append(
                contentsOf: type(of: payload).utf8.filter { $0 != UInt8(ascii: "\n") && $0 != UInt8(ascii: "\r") })
            out.append(UInt8(ascii: "\n"))
            appendData(payload, to: &out)
            out.append(UInt8(ascii: "\n"))
        }
    }

    /// The `type` member of a rendered event.
    static func type(of payload: [UInt8]) -> String {
        payload.withUnsafeBytes { bytes in
            guard var scanner = try? ObjectScanner(bytes) else { return "" }
            while let member = try? scanner.next() {
                if (try? scanner.keyString(member)) == "type" {
                    return (try? RawJSON.decodeString(scanner.value(member))) ?? ""
                }
            }
            return ""
        }
    }

    /// `data: LINE\n` for each line of `payload`, split where the spec ends a line: at CRLF, CR or LF.
    static func appendData(_ payload: [UInt8], to out: inout [UInt8]) {
        out.append(contentsOf: "data: ".utf8)
        var i = 0
        while i < payload.count {
            let byte = payload[i]
            if byte == UInt8(ascii: "\n") || byte == UInt8(ascii: "\r") {
                out.append(contentsOf: "\ndata: ".utf8)
                if byte == UInt8(ascii: "\r"), i + 1 < payload.count, payload[i + 1] == UInt8(ascii: "\n") { i += 1 }
            } else {
                out.append(byte)
            }
            i += 1
        }
        out.append(UInt8(ascii: "\n"))
    }
}
