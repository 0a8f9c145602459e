import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix
import Synchronization

/// A tiny HTTP server on a free loopback port for fault injection: for each request a `decide` closure chooses to
/// answer with a canned response, to forward it to the real S3 server (moto) and relay or withhold the answer,
/// or to drop the connection (before or in the middle of the request body).
final class FaultProxy: Sendable {
    enum Action: Sendable {
        /// Answer with this status, headers and body without forwarding.
        case respond(status: Int, headers: [(String, String)], body: String)
        /// Forward to the upstream server and relay its answer.
        case forward
        /// Forward (so the request takes effect), then answer with this status instead of relaying.
        case forwardThenRespond(status: Int, body: String)
        /// Forward, then drop the connection without answering (the write happened; the client cannot know).
        case forwardThenDrop
        /// Drop the connection as soon as the request head (and up to the first body part) arrives.
        case drop
        /// Forward without these request headers (a server that ignores them) and relay.
        case forwardWithout([String])
        /// Await `gate`, then forward and relay (holds one request until the test lets it through).
        case forwardAfter(@Sendable () async -> Void)
        /// Wait, then forward and relay (a slow server).
        case delayThenForward(Duration)
    }

    /// What the proxy saw: method, URI (with query), and the action taken.
    struct Record: Sendable {
        var method: String
        var uri: String
        var action: String
    }

    let port: Int
    private let upstream: String
    private let server: NIOAsyncChannel<NIOAsyncChannel<HTTPServerRequestPart, HTTPServerResponsePart>, Never>
    private let decide: @Sendable (HTTPRequestHead) -> Action
    private let log = Mutex<[Record]>([])
    private let runner = Mutex<Task<Void, Never>?>(nil)
    private let connections = Mutex<[any Channel]>([])

    var records: [Record] { log.withLock { $0 } }
    var endpoint: String { "http://127.0.0.1:\(port)" }

    private init(
        upstream: String,
        server: NIOAsyncChannel<NIOAsyncChannel<HTTPServerRequestPart, HTTPServerResponsePart>, Never>,
        decide: @escaping @Sendable (HTTPRequestHead) -> Action
    ) {
        self.upstream = upstream
        self.server = server
        self.decide = decide
        self.port = server.channel.localAddress?.port ?? 0
    }

    /// Starts a proxy in front of `upstream`, runs `body`, and stops the proxy (also when `body` throws).
    static func with<T>(
        upstream: String, decide: @escaping @Sendable (HTTPRequestHead) -> Action,
        _ body: (FaultProxy) async throws -> T
    ) async throws -> T {
        let server = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .bind(host: "127.0.0.1", port: 0) { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline()
                    return try NIOAsyncChannel<HTTPServerRequestPart, HTTPServerResponsePart>(
                        wrappingChannelSynchronously: channel)
                }
            }
        let proxy = FaultProxy(upstream: upstream, server: server, decide: decide)
        let task = Task { await proxy.run() }
        proxy.runner.withLock { $0 = task }
        defer {
            task.cancel()
            server.channel.close(promise: nil)
        }
        let result = try await body(proxy)
        try? await server.channel.close()
        // Clients keep connections alive: close them, or the connection tasks wait for their next request.
        for connection in proxy.connections.withLock({ $0 }) { try? await connection.close() }
        task.cancel()
        await task.value
        return result
    }

    private func run() async {
        try? await withThrowingDiscardingTaskGroup { group in
            try await server.executeThenClose { inbound in
                for try await connection in inbound {
                    connections.withLock { $0.append(connection.channel) }
                    group.addTask { try? await self.serve(connection) }
                }
            }
        }
    }

    private func serve(_ connection: NIOAsyncChannel<HTTPServerRequestPart, HTTPServerResponsePart>) async throws {
        try await connection.executeThenClose { inbound, outbound in
            var head: HTTPRequestHead?
            var action = Action.forward
            var body = ByteBuffer()
            for try await part in inbound {
                switch part {
                case .head(let requestHead):
                    head = requestHead
                    body.clear()
                    action = decide(requestHead)
                    record(requestHead, action)
                    if case .drop = action, requestHead.method != .PUT && requestHead.method != .POST { return }
                case .body(var chunk):
                    if case .drop = action { return }  // mid-upload
                    body.writeBuffer(&chunk)
                case .end:
                    guard let head else { return }
                    if case .drop = action { return }
                    switch action {
                    case .respond(let status, let headers, let text):
                        try await respond(outbound, status: status, headers: headers, body: Array(text.utf8))
                    case .forward:
                        let answer = try await forward(head, body)
                        try await respond(outbound, status: answer.0, headers: answer.1, body: answer.2)
                    case .forwardWithout(let names):
                        let answer = try await forward(head, body, without: names)
                        try await respond(outbound, status: answer.0, headers: answer.1, body: answer.2)
                    case .forwardAfter(let gate):
                        await gate()
                        let answer = try await forward(head, body)
                        try await respond(outbound, status: answer.0, headers: answer.1, body: answer.2)
                    case .delayThenForward(let delay):
                        try await Task.sleep(for: delay)
                        let answer = try await forward(head, body)
                        try await respond(outbound, status: answer.0, headers: answer.1, body: answer.2)
                    case .forwardThenRespond(let status, let text):
                        _ = try await forward(head, body)
                        try await respond(outbound, status: status, headers: [], body: Array(text.utf8))
                    case .forwardThenDrop:
                        _ = try await forward(head, body)
                        return
                    case .drop:
                        return
                    }
                }
            }
        }
    }

    private func record(_ head: HTTPRequestHead, _ action: Action) {
        let name = "\(action)".prefix { $0 != "(" }
        log.withLock { $0.append(Record(method: head.method.rawValue, uri: head.uri, action: String(name))) }
    }

    private func forward(
        _ head: HTTPRequestHead, _ body: ByteBuffer, without: [String] = []
    ) async throws
        -> (Int, [(String, String)], [UInt8])
    {
        var request = HTTPClientRequest(url: upstream + head.uri)
        request.method = head.method
        let skipped = Set((without + ["content-length"]).map { $0.lowercased() })
        for (name, value) in head.headers where !skipped.contains(name.lowercased()) {
            request.headers.add(name: name, value: value)
        }
        if body.readableBytes > 0 || head.method == .PUT || head.method == .POST { request.body = .bytes(body) }
        let response = try await HTTPClient.shared.execute(request, timeout: .seconds(60))
        let bytes = try await response.body.collect(upTo: 256 << 20)
        // A HEAD answer keeps the object's Content-Length; other answers get the relayed body's.
        let dropped =
            head.method == .HEAD
            ? ["transfer-encoding", "connection"] : ["content-length", "transfer-encoding", "connection"]
        let headers = response.headers.filter { !dropped.contains($0.name.lowercased()) }.map { ($0.name, $0.value) }
        return (Int(response.status.code), headers, Array(bytes.readableBytesView))
    }

    private func respond(
        _ outbound: NIOAsyncChannelOutboundWriter<HTTPServerResponsePart>, status: Int, headers: [(String, String)],
        body: [UInt8]
    ) async throws {
        var responseHeaders = HTTPHeaders(headers)
        if !responseHeaders.contains(name: "Content-Length") {
            responseHeaders.add(name: "Content-Length", value: String(body.count))
        }
        try await outbound.write(
            .head(HTTPResponseHead(version: .http1_1, status: .init(statusCode: status), headers: responseHeaders)))
        if !body.isEmpty { try await outbound.write(.body(.byteBuffer(ByteBuffer(bytes: body)))) }
        try await outbound.write(.end(nil))
    }
}

/// Counts calls, for "fail the first N times" rules.
final class Counter: Sendable {
    private let value = Mutex<[String: Int]>([:])

    /// Increments the counter `name` and returns its new value.
    func next(_ name: String) -> Int {
        value.withLock {
            $0[name, default: 0] += 1; return $0[name]!
        }
    }
}

let slowDownBody = """
    <?xml version="1.0" encoding="UTF-8"?>
    <Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message><RequestId>R</RequestId></Error>
    """
let internalErrorBody = """
    <?xml version="1.0" encoding="UTF-8"?>
    <Error><Code>InternalError</Code><Message>We encountered an internal error.</Message></Error>
    """

/// A one-shot gate: ``wait()`` suspends until ``open()``.
final class Gate: Sendable {
    private let state = Mutex<(open: Bool, waiters: [CheckedContinuation<Void, Never>])>((false, []))

    func wait() async {
        await withCheckedContinuation { continuation in
            let resume = state.withLock { state in
                if state.open { return true }
                state.waiters.append(continuation)
                return false
            }
            if resume { continuation.resume() }
        }
    }

    func open() {
        let waiters = state.withLock { state in
            state.open = true
            defer { state.waiters = [] }
            return state.waiters
        }
        for waiter in waiters { waiter.resume() }
    }
}
