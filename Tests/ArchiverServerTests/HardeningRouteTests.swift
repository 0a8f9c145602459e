import ArchiverCore
import ArchiverServer
import Coordination
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Lode
import TestSupport
import Testing

/// Faults of issue 23, each as a client of the router meets it.
@Suite struct HardeningRouteTests {
    static let json: HTTPFields = [.contentType: "application/json"]

    /// Valid JSON whose insignificant whitespace holds a blank line, CRLF or a lone CR is refused at append:
    /// stored, it would split its archived record line and stop every later flush. An escaped `\n` inside a
    /// string is kept and reaches a Server-Sent Events client as valid JSON.
    @Test func eventDataWithRawLineBreaksIsRefusedAndEscapedOnesSurviveFraming() async throws {
        try await withAPI { api, client in
            for payload in ["{\"a\"\n\n:1}", "[1,\r\n2]", "[3,\r4]"] {
                let reply = try await client.append("s", #"{"type":"T","data":\#(payload)}"#)
                #expect(reply.status == .unprocessableContent, "\(reply.text)")
                #expect((reply.object["message"] as? String ?? "").contains("line break"), "\(reply.text)")
            }
            #expect(try await api.store.streamHead("s") == nil)
            let escaped = "{\"b\":\"x\\ny\"}"
            #expect(try await client.append("s", #"{"type":"T","data":\#(escaped)}"#).status == .created)
            let sse = try await client.get("/events?limit=1", headers: [.accept: "text/event-stream"])
            let events = ServerSentEventParser.parse(sse.text)
            #expect(events.map(\.id) == ["1"], "\(sse.text.debugDescription)")
            #expect(events.first?.data.contains(#""data":\#(escaped),"#) == true)
            let object = try JSONSerialization.jsonObject(with: Data((events.first?.data ?? "").utf8)) as? [String: Any]
            #expect((object?["data"] as? [String: Any])?["b"] as? String == "x\ny")
        }
    }

    @Test func percentEncodedStreamNamesAreDecodedOnce() async throws {
        try await withAPI { api, client in
            let created = try await client.append("acct%2F7", #"{"type":"Opened","data":{}}"#)
            #expect(created.status == .created)
            #expect(created.object["stream"] as? String == "acct/7")
            #expect(try await api.store.streamHead("acct/7")?.version == 1)
            #expect(try await api.store.streamHead("acct%2F7") == nil)
            let read = try await client.get("/streams/acct%2f7")
            #expect(read.status == .ok && read.object["stream"] as? String == "acct/7")
            // Decoded once only: %252F is the stream named `acct%2F8`.
            _ = try await client.append("acct%252F8", #"{"type":"Opened","data":{}}"#)
            #expect(try await api.store.streamHead("acct%2F8")?.version == 1)
            for bad in ["acct%2", "acct%zz", "%FF%FE"] {
                let refused = try await client.append(bad, #"{"type":"Opened","data":{}}"#)
                #expect(refused.status == .unprocessableContent, "\(bad)")
                #expect((refused.object["message"] as? String ?? "").contains("percent-encoding"))
            }
            #expect(try await api.store.status().eventCount == 2)
        }
    }

    @Test func crossOriginAndUntypedBodiesAreRefused() async throws {
        try await withAPI { api, client in
            let body = ByteBuffer(string: #"{"type":"Forged","data":1}"#)
            let forged = try await client.execute(
                uri: "/streams/s/events", method: .post,
                headers: [.origin: "http://evil.example", .contentType: "text/plain"], body: body)
            #expect(forged.status == .forbidden)
            #expect(forged.object["error"] as? String == "origin-not-allowed")
            let plain = try await client.execute(
                uri: "/streams/s/events", method: .post, headers: [.contentType: "text/plain"], body: body)
            #expect(plain.status == .unsupportedMediaType)
            #expect(plain.object["error"] as? String == "unsupported-media-type")
            let form = try await client.execute(
                uri: "/flush", method: .post, headers: [.contentType: "application/x-www-form-urlencoded"],
                body: ByteBuffer(string: "a=1"))
            #expect(form.status == .unsupportedMediaType)
            let read = try await client.get("/events", headers: [.origin: "http://evil.example"])
            #expect(read.status == .forbidden)
            #expect(try await client.get("/events", headers: [.origin: "null"]).status == .forbidden)
            #expect(try await api.store.status().eventCount == 0)
            #expect(try await api.store.flushCursor().position == 0)
            // The server's own origin (the test client's Host is `localhost`) and JSON with parameters pass.
            let same = try await client.execute(
                uri: "/streams/s/events", method: .post,
                headers: [.origin: "http://localhost", .contentType: "application/json; charset=utf-8"], body: body)
            #expect(same.status == .created, "\(same.text)")
        }
        try await withAPI(configure: { $0.allowedOrigins = ["https://app.example"] }) { _, client in
            let allowed = try await client.get("/events", headers: [.origin: "https://APP.example/"])
            #expect(allowed.status == .ok)
            #expect(
                try await client.get("/events", headers: [.origin: "https://app.example:8443"]).status == .forbidden)
        }
    }

    @Test func badLastEventIDExpectedVersionAndIDAre422() async throws {
        try await withAPI { api, client in
            _ = try await client.append("s", #"{"type":"A","data":1}"#)
            for id in ["abc", "-1", "+1", "1.0"] {
                let reply = try await client.get(
                    "/events", headers: [.accept: "text/event-stream", HTTPField.Name("Last-Event-ID")!: id])
                #expect(reply.status == .unprocessableContent, "Last-Event-ID \(id)")
                #expect((reply.object["message"] as? String ?? "").contains("Last-Event-ID"))
            }
            for version in ["+1", "1e0", "0x1", "noStream", "-0", "１"] {
                let reply = try await client.append("s", #"{"type":"B","data":2}"#, expected: version)
                #expect(reply.status == .unprocessableContent, "Expected-Version \(version)")
                #expect((reply.object["message"] as? String ?? "").contains("Expected-Version"))
            }
            let numeric = try await client.append("s", #"{"type":"A","data":1,"id":5}"#)
            #expect(numeric.status == .unprocessableContent)
            #expect((numeric.object["message"] as? String ?? "").contains(#""id""#), "\(numeric.text)")
            #expect(try await client.append("s", #"{"type":"A","data":1,"id":null}"#).status == .unprocessableContent)
            #expect(try await api.store.streamHead("s")?.version == 1)
            #expect(try await client.append("s", #"{"type":"B","data":2}"#, expected: " 1 ").status == .created)
        }
    }

    @Test func readinessShowsErrorDetailsOnlyToReadTokens() async throws {
        let reader = APITokenEntry.generate(name: "reader", scopes: [.read])
        let appender = APITokenEntry.generate(name: "app", scopes: [.append])
        let admin = APITokenEntry.generate(name: "ops", scopes: [.admin])
        try await withAPI(configure: { $0.tokens = [reader.entry, appender.entry, admin.entry] }) { api, client in
            let root = try #require((api.archive.store as? FileStore)?.root)
            // The archive folder becomes a file: reading and flushing it fails with errors that name its path.
            try FileManager.default.removeItem(atPath: root)
            try Data("x".utf8).write(to: URL(fileURLWithPath: root))
            _ = try await client.append("s", #"{"type":"A","data":1}"#, token: appender.token)
            let flush = try await client.post("/flush", token: admin.token)
            #expect(flush.status == .internalServerError, "\(flush.text)")
            let anonymous = try await client.get("/ready")
            #expect(anonymous.status == .serviceUnavailable)
            #expect(!anonymous.text.contains(root), "\(anonymous.text)")
            #expect(!anonymous.text.contains("/"), "\(anonymous.text)")
            #expect(!(try await client.get("/ready", token: appender.token)).text.contains(root))
            let detailed = try await client.get("/ready", token: reader.token)
            #expect(detailed.status == .serviceUnavailable)
            #expect(detailed.text.contains(root), "\(detailed.text)")
        }
    }

    @Test func oneBodyIsAllOrNothing() async throws {
        try await withAPI { api, client in
            let good = #"{"type":"A","data":1}"#
            let big = #"{"type":"B","data":"\#(String(repeating: "x", count: (1 << 20) + 10))"}"#
            let bodies: [(String, HTTPResponse.Status)] = [
                ("[\(good),\(good),{\"type\":\"C\",\"data\":1,\"id\":\"nope\"}]", .unprocessableContent),
                ("[\(good),\(big),\(good)]", .contentTooLarge),
                ("[\(good),{\"type\":\"\(String(repeating: "t", count: 300))\",\"data\":1}]", .unprocessableContent),
                ("[\(good),{\"type\":\"D\",\"data\":1,\"metadata\":[]}]", .unprocessableContent),
            ]
            for (body, status) in bodies {
                let reply = try await client.append("s", body)
                #expect(reply.status == status, "\(reply.text)")
            }
            _ = try await client.append("s", good)
            let conflict = try await client.append("s", "[\(good),\(good)]", expected: "no-stream")
            #expect(conflict.status == .conflict)
            // Only the one good append is stored, at the first position: refused bodies used none.
            let all = try await client.get("/events?limit=100").object["events"] as? [[String: Any]] ?? []
            #expect(all.map { $0["position"] as? Int } == [1])
            #expect(try await api.store.streamHead("s")?.version == 1)
        }
    }

    @Test func consumersResumeFromTheirCheckpoint() async throws {
        try await withAPI { api, client in
            for i in 1...5 { _ = try await client.append("s", #"{"type":"T\#(i)","data":\#(i)}"#) }
            func positions(_ reply: TestResponse) -> [Int] {
                (reply.object["events"] as? [[String: Any]] ?? []).compactMap { $0["position"] as? Int }
            }
            #expect(positions(try await client.get("/events?consumer=billing&limit=2")) == [1, 2])
            #expect(try await api.store.checkpoints() == [ConsumerCheckpoint(name: "billing", position: 2)])
            #expect(positions(try await client.get("/events?consumer=billing&limit=2")) == [3, 4])
            let stream = try await client.get(
                "/events?consumer=billing&limit=1", headers: [.accept: "text/event-stream"])
            #expect(ServerSentEventParser.parse(stream.text).map(\.id) == ["5"])
            #expect(try await api.store.checkpoints().first?.position == 5)
            // Nothing new: an empty page leaves the checkpoint; `after` wins over the checkpoint.
            #expect(positions(try await client.get("/events?consumer=billing")) == [])
            #expect(positions(try await client.get("/events?consumer=billing&after=3&limit=1")) == [4])
            #expect(try await api.store.checkpoints().first?.position == 4)
            #expect(positions(try await client.get("/events?consumer=other&limit=1")) == [1])
            #expect(try await client.get("/events?consumer=").status == .unprocessableContent)
        }
    }

    @Test func aNamedCutWithNothingNewIsAConflictNotAFailedFlush() async throws {
        try await withAPI { _, client in
            let reply = try await client.post("/cuts/empty")
            #expect(reply.status == .conflict)
            #expect(reply.object["error"] as? String == "nothing-to-flush")
            let ready = try await client.get("/ready")
            #expect(ready.status == .ok, "\(ready.text)")
            #expect((ready.object["checks"] as? [String: String])?["archive"] == "ok")
        }
    }
}

/// The host and origin rules without a router, for the Host values the test client cannot send.
@Suite struct RequestOriginPolicyTests {
    @Test(arguments: [
        ("127.0.0.1:8080", true), ("localhost:8080", true), ("LOCALHOST", true), ("[::1]:8080", true),
        ("127.1.2.3", true), ("evil.example:8080", false), ("127.0.0.1.evil.example", false),
        ("10.0.0.5:8080", false), ("[::2]:8080", false),
    ])
    func openServersServeOnlyLoopbackHosts(host: String, served: Bool) throws {
        let policy = RequestOriginPolicy(configuration: ServerConfiguration())
        let outcome = Result { try policy.check(method: .get, authority: host, headers: [:]) }
        #expect(((try? outcome.get()) != nil) == served, "\(host)")
        if case .failure(let error as APIError) = outcome {
            #expect(error.status == .forbidden && error.kind == "host-not-allowed")
        }
    }

    @Test func withTokensAnyHostIsServedAndOriginsStillChecked() throws {
        var configuration = ServerConfiguration()
        configuration.host = "0.0.0.0"
        configuration.tokens = [APITokenEntry.generate(name: "a", scopes: [.read]).entry]
        let policy = RequestOriginPolicy(configuration: configuration)
        try policy.check(method: .get, authority: "archiver.internal:8080", headers: [:])
        try policy.check(
            method: .get, authority: "archiver.internal:8080", headers: [.origin: "http://archiver.internal:8080"])
        #expect(throws: APIError.self) {
            try policy.check(
                method: .get, authority: "archiver.internal:8080", headers: [.origin: "http://evil.example"])
        }
    }
}
