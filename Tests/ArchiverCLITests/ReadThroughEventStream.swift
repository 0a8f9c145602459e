import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// One `GET /events` Server-Sent Events connection over a plain socket, read as the bytes arrive.
///
/// URLSession cannot be the client here: `data(for:)` returns only when a body ends, and an event stream never
/// ends (its keep-alive comment every 15 s also keeps the request timeout from firing), and a server killed
/// mid-stream loses the partial body. This client hands back each complete event as soon as it is read, and
/// every read waits at most `readTimeoutMilliseconds`, so its caller can bound the whole subscription.
final class ReadThroughEventStream {
    struct Event: Equatable {
        var id: Int64
        var data: String
    }

    private let fd: Int32
    private var received: [UInt8] = []
    private var body: [UInt8] = []
    private var headerParsed = false
    private var chunked = false
    /// The HTTP status of the reply, 0 until its header arrived.
    private(set) var status = 0
    /// True once the server closed or reset the connection (or sent a malformed reply).
    private(set) var closed = false

    /// Connects to `127.0.0.1:port` and sends `GET path` asking for `text/event-stream`.
    init(port: Int, path: String, lastEventID: Int64?, readTimeoutMilliseconds: Int = 250) throws {
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw ServeError(message: "socket() failed") }
        var timeout = timeval(
            tv_sec: readTimeoutMilliseconds / 1_000, tv_usec: (readTimeoutMilliseconds % 1_000) * 1_000)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard connected == 0 else {
            close(fd)
            throw ServeError(message: "connect to port \(port) failed")
        }
        var request = "GET \(path) HTTP/1.1\r\nHost: 127.0.0.1:\(port)\r\nAccept: text/event-stream\r\n"
        if let lastEventID { request += "Last-Event-ID: \(lastEventID)\r\n" }
        let bytes = Array((request + "\r\n").utf8)
        let sent = bytes.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
        guard sent == bytes.count else {
            close(fd)
            throw ServeError(message: "sending the request to port \(port) failed")
        }
    }

    deinit { close(fd) }

    /// The events completed by the bytes that arrive within one read timeout (none when nothing arrived).
    /// A block cut off by the server's death is never returned.
    func next() -> [Event] {
        guard !closed else { return [] }
        var buffer = [UInt8](repeating: 0, count: 65_536)
        let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
        if n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
            closed = true
        } else if n > 0 {
            received += buffer[0..<n]
        }
        if !headerParsed { parseHeader() }
        if headerParsed { chunked ? dechunk() : moveAllToBody() }
        return takeEvents()
    }

    /// Reads the status line and the header once they are complete.
    private func parseHeader() {
        let separator = Array("\r\n\r\n".utf8)
        guard let end = received.firstRange(of: separator) else { return }
        let header = String(decoding: received[..<end.lowerBound], as: UTF8.self).lowercased()
        status = header.split(separator: " ").dropFirst().first.flatMap { Int($0) } ?? 0
        chunked = header.contains("transfer-encoding: chunked")
        received.removeSubrange(..<end.upperBound)
        headerParsed = true
        if status != 200 { closed = true }
    }

    private func moveAllToBody() {
        body += received
        received.removeAll()
    }

    /// Moves the complete chunks of a chunked body into `body`.
    private func dechunk() {
        let crlf = Array("\r\n".utf8)
        while let line = received.firstRange(of: crlf) {
            let sizeText = String(decoding: received[..<line.lowerBound], as: UTF8.self)
            guard let size = Int(sizeText.split(separator: ";").first ?? "", radix: 16) else {
                closed = true
                return
            }
            if size == 0 {
                closed = true
                return
            }
            guard received.count >= line.upperBound + size + 2 else { return }
            body += received[line.upperBound..<(line.upperBound + size)]
            received.removeSubrange(..<(line.upperBound + size + 2))
        }
    }

    /// Splits the complete `id:`/`event:`/`data:` blocks off the body (the server ends lines with LF only).
    private func takeEvents() -> [Event] {
        var events: [Event] = []
        let blank = Array("\n\n".utf8)
        while let end = body.firstRange(of: blank) {
            let block = String(decoding: body[..<end.lowerBound], as: UTF8.self)
            body.removeSubrange(..<end.upperBound)
            var id: Int64?
            var data: [Substring] = []
            for line in block.split(separator: "\n", omittingEmptySubsequences: false) {
                if line.hasPrefix("id: ") { id = Int64(line.dropFirst(4)) }
                if line.hasPrefix("data: ") { data.append(line.dropFirst(6)) }
            }
            if let id { events.append(Event(id: id, data: data.joined(separator: "\n"))) }
        }
        return events
    }
}
