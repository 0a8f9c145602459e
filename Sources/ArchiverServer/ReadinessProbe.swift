import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Asks a running `archiver serve` whether it is ready (`GET /ready`), for health checks that have no curl and
/// no bash (`archiver health` in the container image, compose and systemd).
///
/// A plain HTTP/1.0 request over a blocking socket with a timeout: the probe runs once and exits, so it needs no
/// event loop.
///
/// ```swift
/// let answer = try ReadinessProbe(host: "127.0.0.1", port: 8080).check()
/// print(answer.ready ? "ready" : "not ready: \(answer.body)")
/// ```
public struct ReadinessProbe: Sendable {
    public struct Answer: Sendable {
        /// The HTTP status (200 ready, 503 not ready).
        public var status: Int
        /// The JSON body of `/ready` (which checks failed and why).
        public var body: String
        public var ready: Bool { status == 200 }
    }

    public struct Failure: Error, CustomStringConvertible {
        public var description: String
    }

    public let host: String
    public let port: Int
    public let timeoutSeconds: Int

    /// - Parameter host: the address `serve` listens on; a wildcard (`0.0.0.0`, `::`) is probed on loopback.
    public init(host: String, port: Int, timeoutSeconds: Int = 5) {
        switch host {
        case "0.0.0.0", "": self.host = "127.0.0.1"
        case "::", "[::]": self.host = "::1"
        default: self.host = host.hasPrefix("[") ? String(host.dropFirst().dropLast()) : host
        }
        self.port = port
        self.timeoutSeconds = timeoutSeconds
    }

    /// - Throws: ``Failure`` when nothing answers (connection refused, timeout) or the answer is not HTTP.
    public func check() throws -> Answer {
        let socket = try openConnection()
        defer { close(socket) }
        let request = "GET /ready HTTP/1.0\r\nHost: \(host)\r\nConnection: close\r\n\r\n"
        let sent = request.utf8CString.withUnsafeBufferPointer { send(socket, $0.baseAddress, $0.count - 1, 0) }
        guard sent == request.utf8.count else { throw failure("sending the request failed") }
        return try parse(receiveAll(socket))
    }

    private func openConnection() throws -> Int32 {
        var hints = addrinfo()
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var list: UnsafeMutablePointer<addrinfo>?
        guard getaddrinfo(host, String(port), &hints, &list) == 0, let first = list else {
            throw failure("cannot resolve host '\(host)'")
        }
        defer { freeaddrinfo(list) }
        var lastError = ECONNREFUSED
        var entry: UnsafeMutablePointer<addrinfo>? = first
        while let info = entry {
            let fd = socket(info.pointee.ai_family, info.pointee.ai_socktype, info.pointee.ai_protocol)
            if fd >= 0 {
                var timeout = timeval(tv_sec: timeoutSeconds, tv_usec: 0)
                setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
                setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
                if connect(fd, info.pointee.ai_addr, info.pointee.ai_addrlen) == 0 { return fd }
                lastError = errno
                close(fd)
            }
            entry = info.pointee.ai_next
        }
        throw failure(String(cString: strerror(lastError)))
    }

    private func receiveAll(_ socket: Int32) throws -> [UInt8] {
        var bytes: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4_096)
        while bytes.count < 1 << 20 {
            let count = buffer.withUnsafeMutableBytes { recv(socket, $0.baseAddress, $0.count, 0) }
            if count == 0 { break }
            guard count > 0 else { throw failure("no answer within \(timeoutSeconds) s") }
            bytes += buffer[0..<count]
        }
        return bytes
    }

    private func parse(_ bytes: [UInt8]) throws -> Answer {
        let text = String(decoding: bytes, as: UTF8.self)
        let statusLine = text.prefix { $0 != "\r" && $0 != "\n" }
        let parts = statusLine.split(separator: " ")
        guard parts.count >= 2, parts[0].hasPrefix("HTTP/"), let status = Int(parts[1]) else {
            throw failure("the answer is not HTTP")
        }
        let body = text.range(of: "\r\n\r\n").map { String(text[$0.upperBound...]) } ?? ""
        return Answer(status: status, body: body.trimmingCharacters(in: .whitespacesAndNewlines))
    }

    private func failure(_ reason: String) -> Failure {
        let shown = host.contains(":") ? "[\(host)]" : host
        return Failure(description: "http://\(shown):\(port)/ready: \(reason)")
    }
}
