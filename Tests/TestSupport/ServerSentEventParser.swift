/// A client-side `text/event-stream` parser that follows the HTML spec's "interpret an event stream" steps
/// (lines end at CRLF, LF or CR; `data` fields are joined with LF; one space after the colon is dropped; a blank
/// line dispatches; an event without data is not dispatched), to check the server's framing as a browser's
/// `EventSource` reads it.
public struct ServerSentEventParser {
    public struct Event: Equatable, Sendable {
        public var id: String?
        public var type: String
        public var data: String
    }

    public static func parse(_ stream: String) -> [Event] {
        var events: [Event] = []
        var data = ""
        var type = ""
        var lastID: String?
        for line in lines(stream) {
            if line.isEmpty {
                if !data.isEmpty {
                    if data.hasSuffix("\n") { data.removeLast() }
                    events.append(Event(id: lastID, type: type.isEmpty ? "message" : type, data: data))
                }
                data = ""
                type = ""
                continue
            }
            if line.hasPrefix(":") { continue }
            let field: Substring
            var value: Substring = ""
            if let colon = line.firstIndex(of: ":") {
                field = line[..<colon]
                value = line[line.index(after: colon)...]
                if value.hasPrefix(" ") { value = value.dropFirst() }
            } else {
                field = line[...]
            }
            switch field {
            case "data": data += value + "\n"
            case "event": type = String(value)
            case "id": lastID = String(value)
            default: break
            }
        }
        return events
    }

    /// The stream's lines; the spec's three line ends (`\r\n` is one grapheme in Swift, so scan scalars).
    static func lines(_ stream: String) -> [String] {
        var lines: [String] = []
        var current = String.UnicodeScalarView()
        var previousWasCR = false
        for scalar in stream.unicodeScalars {
            if scalar == "\n" && previousWasCR {
                previousWasCR = false
                continue
            }
            previousWasCR = scalar == "\r"
            if scalar == "\n" || scalar == "\r" {
                lines.append(String(current))
                current = String.UnicodeScalarView()
            } else {
                current.append(scalar)
            }
        }
        return lines
    }
}
