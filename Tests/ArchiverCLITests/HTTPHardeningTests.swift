import Foundation
import TestSupport
import Testing

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Issue 23's HTTP faults against a real `archiver serve` process, as a browser, a curl user or an
/// `EventSource` meets them.
@Suite struct HTTPHardeningTests {
    /// A web page's forged requests (cross-origin POST, DNS rebinding) change and reveal nothing; the same
    /// requests from a program on this machine are served.
    @Test func browserForgedRequestsAreRefused() async throws {
        try await withTemporaryDirectory { dir in
            let server = try await ServeProcess(["--flush-interval", "0"], in: dir)
            defer { server.cleanUp() }
            let port = try #require(URL(string: server.baseURL)?.port)
            let local = "127.0.0.1:\(port)"
            let event = #"{"type":"Forged","data":{"to":"mallory"}}"#
            // A form on http://evil.example posting text/plain, as browsers do without a preflight.
            let forged = try RawHTTP.send(
                port: port, method: "POST", path: "/streams/acct-1/events",
                headers: ["Host": local, "Origin": "http://evil.example", "Content-Type": "text/plain"], body: event)
            #expect(forged.status == 403 && forged.body.contains("origin-not-allowed"), "\(forged)")
            let untyped = try RawHTTP.send(
                port: port, method: "POST", path: "/streams/acct-1/events",
                headers: ["Host": local, "Content-Type": "text/plain"], body: event)
            #expect(untyped.status == 415 && untyped.body.contains("application/json"), "\(untyped)")
            // DNS rebinding: evil.example resolves to 127.0.0.1, so the browser sends its own name as Host.
            for path in ["/events", "/ready", "/metrics"] {
                let rebound = try RawHTTP.send(
                    port: port, method: "GET", path: path, headers: ["Host": "evil.example:\(port)"])
                #expect(rebound.status == 403 && rebound.body.contains("host-not-allowed"), "\(path): \(rebound)")
            }
            let flush = try RawHTTP.send(
                port: port, method: "POST", path: "/cuts/forged",
                headers: ["Host": "evil.example:\(port)", "Origin": "http://evil.example:\(port)"], body: nil)
            #expect(flush.status == 403)
            // Nothing was appended or flushed.
            #expect(try await CLI.ok(["read", "--all"], in: dir).isEmpty)
            #expect(!FileManager.default.fileExists(atPath: dir + "/archive/events"))
            // A program on this machine, with JSON, is served.
            let ok = try RawHTTP.send(
                port: port, method: "POST", path: "/streams/acct-1/events",
                headers: ["Host": local, "Content-Type": "application/json"], body: event)
            #expect(ok.status == 201, "\(ok)")
            let localhost = try RawHTTP.send(
                port: port, method: "GET", path: "/events", headers: ["Host": "localhost:\(port)"])
            #expect(localhost.status == 200 && localhost.body.contains("mallory"))
        }
    }

    /// `/streams/acct%2F7/events` and `archiver read --stream acct/7` name the same stream.
    @Test func percentEncodedStreamNamesMatchTheCLI() async throws {
        try await withTemporaryDirectory { dir in
            let server = try await ServeProcess(["--flush-interval", "0"], in: dir)
            defer { server.cleanUp() }
            let port = try #require(URL(string: server.baseURL)?.port)
            let headers = ["Host": "127.0.0.1:\(port)", "Content-Type": "application/json"]
            let created = try RawHTTP.send(
                port: port, method: "POST", path: "/streams/acct%2F7/events", headers: headers,
                body: #"{"type":"Opened","data":{}}"#)
            #expect(created.status == 201 && created.body.contains(#""stream":"acct/7""#), "\(created)")
            let lines = try await CLI.ok(["read", "--stream", "acct/7"], in: dir).split(separator: "\n")
            #expect(lines.count == 1 && lines.first?.contains(#""type":"Opened""#) == true)
            let bad = try RawHTTP.send(
                port: port, method: "POST", path: "/streams/acct%2/events", headers: headers,
                body: #"{"type":"Opened","data":{}}"#)
            #expect(bad.status == 422 && bad.body.contains("percent-encoding"), "\(bad)")
        }
    }

    /// Raw line breaks in event data are refused; escaped ones reach an SSE client whole; one failing event
    /// refuses its whole body.
    @Test func eventStreamFramingAndAllOrNothingBodies() async throws {
        try await withTemporaryDirectory { dir in
            let server = try await ServeProcess(["--flush-interval", "0"], in: dir)
            defer { server.cleanUp() }
            // Raw line breaks between JSON tokens are refused (they would split the archived record line).
            let broken = try await server.request(
                "POST", "/streams/s/events", body: "{\"type\":\"T\",\"data\":{\"a\"\n\n:1}}")
            #expect(broken.status == 422 && broken.body.contains("line break"), "\(broken.body)")
            let payload = #"{"text":"two\nlines\n\nand a blank one"}"#
            let appended = try await server.request(
                "POST", "/streams/s/events", body: #"{"type":"T","data":\#(payload)}"#)
            #expect(appended.status == 201, "\(appended.body)")
            let stream = try await server.request(
                "GET", "/events?after=0&limit=1", headers: ["Accept": "text/event-stream"])
            let events = ServerSentEventParser.parse(stream.body)
            #expect(events.count == 1 && events.first?.id == "1", "\(stream.body.debugDescription)")
            #expect(events.first?.data.contains(#""data":\#(payload),"#) == true)
            let page = try await server.request("GET", "/events?after=0")
            let recorded = (page.object["events"] as? [[String: Any]])?.first
            let parsed = try JSONSerialization.jsonObject(with: Data((events.first?.data ?? "").utf8)) as? [String: Any]
            #expect(parsed?["id"] as? String == recorded?["id"] as? String)

            // 1 000 events, the last with an id that is a number: nothing is stored.
            let good = (0..<999).map { #"{"type":"Bulk","data":\#($0)}"# }
            let body = "[" + (good + [#"{"type":"Bulk","data":1,"id":5}"#]).joined(separator: ",") + "]"
            let refused = try await server.request("POST", "/streams/bulk/events", body: body)
            #expect(refused.status == 422 && refused.body.contains("event 1000"), "\(refused.body)")
            #expect(try await CLI.ok(["read", "--stream", "bulk"], in: dir).isEmpty)
            let all = try await server.request("GET", "/events?after=0&limit=2000")
            #expect((all.object["events"] as? [[String: Any]])?.count == 1 && all.object["last_position"] as? Int == 1)
        }
    }
}

/// One HTTP/1.1 request over a plain socket, for what URLSession will not send (a foreign `Host`, a
/// browser's `Origin`, a path with malformed percent-encoding).
enum RawHTTP {
    struct Reply: CustomStringConvertible {
        var status: Int
        var body: String
        var description: String { "\(status) \(body)" }
    }

    static func send(
        port: Int, method: String, path: String, headers: [String: String], body: String? = nil
    ) throws -> Reply {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw ServeError(message: "socket() failed") }
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard connected == 0 else { throw ServeError(message: "connect to port \(port) failed") }
        var request = "\(method) \(path) HTTP/1.1\r\nConnection: close\r\n"
        for (name, value) in headers { request += "\(name): \(value)\r\n" }
        let bodyBytes = Array((body ?? "").utf8)
        request += "Content-Length: \(bodyBytes.count)\r\n\r\n"
        let bytes = Array(request.utf8) + bodyBytes
        var sent = 0
        while sent < bytes.count {
            let n = bytes[sent...].withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, 0) }
            guard n > 0 else { throw ServeError(message: "send failed") }
            sent += n
        }
        var response: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65_536)
        while true {
            let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            guard n > 0 else { break }
            response += buffer[0..<n]
        }
        let text = String(decoding: response, as: UTF8.self)
        let statusLine = text.split(separator: "\r\n", maxSplits: 1).first ?? ""
        let status = statusLine.split(separator: " ").dropFirst().first.flatMap { Int($0) } ?? 0
        let bodyText = text.range(of: "\r\n\r\n").map { String(text[$0.upperBound...]) } ?? ""
        return Reply(status: status, body: bodyText)
    }
}
