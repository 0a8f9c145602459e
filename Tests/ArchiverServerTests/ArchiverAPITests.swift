import ArchiverServer
import Coordination
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Testing

@Suite struct AppendRouteTests {
    @Test func appendsOneEventThenABatchWithExpectedVersions() async throws {
        try await withAPI { _, client in
            let first = try await client.append(
                "account-1", #"{"type":"Opened","data":{"owner":"ada"}}"#, expected: "no-stream")
            #expect(first.status == .created)
            #expect(first.headers[.contentType] == "application/json")
            #expect(first.object["stream"] as? String == "account-1")
            #expect(first.object["first_version"] as? Int == 1 && first.object["last_version"] as? Int == 1)
            #expect(first.object["first_position"] as? Int == 1)
            #expect((first.object["ids"] as? [String])?.count == 1)

            let batch = try await client.append(
                "account-1",
                #"[{"type":"Deposited","data":{"amount":5},"metadata":{"by":"x"}},{"type":"Deposited","data":7,"id":"6f1c1d2e-0000-4000-8000-000000000001"}]"#,
                expected: "1")
            #expect(batch.status == .created)
            #expect(batch.object["first_version"] as? Int == 2 && batch.object["last_version"] as? Int == 3)
            #expect(batch.object["last_position"] as? Int == 3)
            #expect((batch.object["ids"] as? [String])?.last == "6f1c1d2e-0000-4000-8000-000000000001")

            let exists = try await client.append("account-1", #"{"type":"Noted","data":null}"#, expected: "exists")
            #expect(exists.status == .created && exists.object["last_version"] as? Int == 4)
            let any = try await client.append("account-1", #"{"type":"Noted","data":"x"}"#)
            #expect(any.status == .created && any.object["last_version"] as? Int == 5)

            let read = try await client.get("/streams/account-1?from=2&limit=2")
            #expect(read.status == .ok)
            let events = read.object["events"] as? [[String: Any]] ?? []
            #expect(events.map { $0["version"] as? Int } == [2, 3])
            #expect((events.first?["data"] as? [String: Any])?["amount"] as? Int == 5)
            #expect((events.first?["metadata"] as? [String: Any])?["by"] as? String == "x")
            #expect(read.object["version"] as? Int == 5 && read.object["next_version"] as? Int == 4)
        }
    }

    @Test func conflictReturns409WithTheActualVersion() async throws {
        try await withAPI { api, client in
            _ = try await client.append("s", #"[{"type":"A","data":1},{"type":"B","data":2}]"#)
            let conflict = try await client.append("s", #"{"type":"C","data":3}"#, expected: "no-stream")
            #expect(conflict.status == .conflict)
            #expect(conflict.object["error"] as? String == "wrong-expected-version")
            #expect(conflict.object["actual_version"] as? Int == 2)
            #expect(conflict.object["stream"] as? String == "s")
            let stale = try await client.append("s", #"{"type":"C","data":3}"#, expected: "1")
            #expect(stale.status == .conflict && stale.object["actual_version"] as? Int == 2)
            let missing = try await client.append("t", #"{"type":"C","data":3}"#, expected: "exists")
            #expect(missing.status == .conflict && missing.object["actual_version"] as? Int == 0)
            #expect(try await api.store.streamHead("s")?.version == 2)
        }
    }

    @Test(arguments: [
        (#"{"type":"A","data":"#, "not valid JSON"),
        (#"{"data":1}"#, "type"),
        (#"{"type":"A"}"#, "data"),
        (#"[]"#, "empty"),
        (#"[{"type":"A","data":1},5]"#, "event 2"),
        (#"{"type":"A","data":1,"metadata":[1]}"#, "metadata"),
        (#"{"type":"A","data":1,"id":"nope"}"#, "UUID"),
        (#"{"type":"","data":1}"#, "type"),
        ("\"just a string\"", "object"),
    ])
    func invalidBodiesAre422(body: String, mentions: String) async throws {
        try await withAPI { api, client in
            let response = try await client.append("s", body)
            #expect(response.status == .unprocessableContent, "\(body): \(response.text)")
            #expect(response.object["error"] as? String == "invalid-input")
            #expect((response.object["message"] as? String ?? "").contains(mentions), "\(response.text)")
            #expect(try await api.store.streamHead("s") == nil)
        }
    }

    @Test func badHeadersAre422() async throws {
        try await withAPI { _, client in
            let version = try await client.append("s", #"{"type":"A","data":1}"#, expected: "latest")
            #expect(version.status == .unprocessableContent)
            #expect((version.object["message"] as? String ?? "").contains("Expected-Version"))
            let key = try await client.append("s", #"{"type":"A","data":1}"#, key: String(repeating: "k", count: 300))
            #expect(key.status == .unprocessableContent)
            let query = try await client.get("/events?after=-3")
            #expect(query.status == .unprocessableContent)
        }
    }

    @Test func bodiesOverTheLimitAre413() async throws {
        try await withAPI(configure: { $0.maxBodyBytes = 1_000 }) { api, client in
            let big = #"{"type":"A","data":"\#(String(repeating: "x", count: 2_000))"}"#
            let response = try await client.append("s", big)
            #expect(response.status == .contentTooLarge)
            #expect(response.object["error"] as? String == "too-large")
            #expect(try await api.store.streamHead("s") == nil)
        }
        // Within the body limit, but one event over the store's per-event limit (1 MiB).
        try await withAPI { api, client in
            let big = #"{"type":"A","data":"\#(String(repeating: "x", count: (1 << 20) + 10))"}"#
            let response = try await client.append("s", big)
            #expect(response.status == .contentTooLarge)
            #expect(response.object["error"] as? String == "event-too-large")
            #expect(try await api.store.streamHead("s") == nil)
        }
    }

    @Test func idempotentReplayReturnsTheOriginalResponse() async throws {
        try await withAPI { api, client in
            let body = #"[{"type":"A","data":1},{"type":"B","data":2}]"#
            let original = try await client.append("s", body, expected: "no-stream", key: "order-17")
            #expect(original.status == .created)
            #expect(original.headers[.idempotentReplayed] == nil)
            let replay = try await client.append("s", body, expected: "no-stream", key: "order-17")
            #expect(replay.status == .created)
            #expect(replay.text == original.text)
            #expect(replay.headers[.idempotentReplayed] == "true")
            #expect(try await api.store.streamHead("s")?.version == 2)

            let reused = try await client.append("s", #"{"type":"Other","data":3}"#, key: "order-17")
            #expect(reused.status == .unprocessableContent)
            #expect(reused.object["error"] as? String == "idempotency-key-reused")
            #expect(try await api.store.streamHead("s")?.version == 2)
        }
    }
}

@Suite struct AuthRouteTests {
    static let appender = APITokenEntry.generate(name: "app", scopes: [.append])
    static let reader = APITokenEntry.generate(name: "reader", scopes: [.read])
    static let admin = APITokenEntry.generate(name: "ops", scopes: [.admin])

    func withSecuredAPI(_ body: @Sendable (any TestClientProtocol) async throws -> Void) async throws {
        try await withAPI(configure: {
            $0.tokens = [Self.appender.entry, Self.reader.entry, Self.admin.entry]
        }) { _, client in try await body(client) }
    }

    @Test func missingOrWrongTokensAre401() async throws {
        try await withSecuredAPI { client in
            let none = try await client.append("s", #"{"type":"A","data":1}"#)
            #expect(none.status == .unauthorized)
            #expect(none.headers[.wwwAuthenticate]?.hasPrefix("Bearer") == true)
            let wrong = try await client.append(
                "s", #"{"type":"A","data":1}"#, token: "arch_" + String(repeating: "0", count: 64))
            #expect(wrong.status == .unauthorized)
            #expect(try await client.get("/events").status == .unauthorized)
            #expect(try await client.post("/flush").status == .unauthorized)
            // Probes and metrics stay open.
            #expect(try await client.get("/health").status == .ok)
            #expect(try await client.get("/ready").status == .ok)
            #expect(try await client.get("/metrics").status == .ok)
        }
    }

    @Test func scopesLimitRoutes() async throws {
        try await withSecuredAPI { client in
            let body = #"{"type":"A","data":1}"#
            #expect(try await client.append("s", body, token: Self.appender.token).status == .created)
            #expect(try await client.append("s", body, token: Self.reader.token).status == .forbidden)
            #expect(try await client.get("/events", token: Self.reader.token).status == .ok)
            #expect(try await client.get("/streams/s", token: Self.reader.token).status == .ok)
            #expect(try await client.get("/cuts", token: Self.reader.token).status == .ok)
            let denied = try await client.get("/events", token: Self.appender.token)
            #expect(denied.status == .forbidden)
            #expect(denied.object["error"] as? String == "insufficient-scope")
            #expect(try await client.post("/flush", token: Self.reader.token).status == .forbidden)
            #expect(try await client.post("/flush", token: Self.admin.token).status == .ok)
            #expect(try await client.append("s", body, token: Self.admin.token).status == .created)
            #expect(try await client.get("/events", token: Self.admin.token).status == .ok)
        }
    }

    @Test func tokenEntriesRoundTripAndCompareByHash() throws {
        let (token, entry) = APITokenEntry.generate(name: "billing", scopes: [.read, .append])
        #expect(token.hasPrefix("arch_") && token.count == 69)
        let parsed = try APITokenEntry(parsing: entry.entry)
        #expect(parsed == entry)
        #expect(entry.entry.hasPrefix("billing:append+read:"))
        #expect(!entry.entry.contains(token))
        let auth = TokenAuthenticator(entries: [parsed])
        #expect(auth.authenticate(bearer: token)?.name == "billing")
        #expect(auth.authenticate(bearer: token + "x") == nil)
        #expect(auth.authenticate(bearer: "") == nil)
        #expect(throws: ConfigError.self) { try APITokenEntry(parsing: "x:write:" + String(repeating: "a", count: 64)) }
        #expect(throws: ConfigError.self) { try APITokenEntry(parsing: "x:read:abc") }
        #expect(throws: ConfigError.self) { try APITokenEntry(parsing: "x:read") }
    }
}

@Suite struct ReadRouteTests {
    @Test func unknownStreamIs404() async throws {
        try await withAPI { _, client in
            let response = try await client.get("/streams/nobody")
            #expect(response.status == .notFound)
            #expect(response.object["error"] as? String == "stream-not-found")
        }
    }

    @Test func allEventsInGlobalOrderWithPaging() async throws {
        try await withAPI { _, client in
            for i in 1...5 {
                _ = try await client.append("s-\(i % 2)", #"{"type":"T\#(i)","data":\#(i)}"#)
            }
            let page = try await client.get("/events?after=1&limit=3")
            #expect(page.status == .ok)
            let events = page.object["events"] as? [[String: Any]] ?? []
            #expect(events.map { $0["position"] as? Int } == [2, 3, 4])
            #expect(events.map { $0["type"] as? String } == ["T2", "T3", "T4"])
            #expect(page.object["last_position"] as? Int == 4)
            let rest = try await client.get("/events?after=4")
            #expect((rest.object["events"] as? [[String: Any]])?.count == 1)
            let none = try await client.get("/events?after=5")
            #expect((none.object["events"] as? [[String: Any]])?.isEmpty == true)
            #expect(none.object["last_position"] as? Int == 5)
        }
    }

    @Test func longPollReturnsAnEventAppendedWhileWaiting() async throws {
        try await withAPI { api, client in
            async let appended: Void = {
                try await Task.sleep(for: .milliseconds(300))
                _ = try await api.store.append(
                    AppendRequest(stream: "late", events: [ProposedEvent(type: "Arrived", data: "1")]))
            }()
            // A generous wait only bounds the test; the answer comes as soon as the event is committed.
            let response = try await client.get("/events?after=0&wait=30")
            try await appended
            let events = response.object["events"] as? [[String: Any]] ?? []
            #expect(events.map { $0["type"] as? String } == ["Arrived"])
        }
    }

    @Test func serverSentEventsStreamEventsWithIDs() async throws {
        try await withAPI { _, client in
            for i in 1...3 { _ = try await client.append("s", #"{"type":"T\#(i)","data":{"i":\#(i)}}"#) }
            let response = try await client.get(
                "/events?after=1&limit=2", headers: [.accept: "text/event-stream"])
            #expect(response.status == .ok)
            #expect(response.headers[.contentType] == "text/event-stream")
            let blocks = response.text.components(separatedBy: "\n\n").filter { !$0.isEmpty }
            #expect(blocks.count == 2)
            #expect(blocks.first?.hasPrefix("id: 2\nevent: T2\ndata: {\"position\":2,") == true, "\(response.text)")
            #expect(blocks.last?.hasPrefix("id: 3\nevent: T3\n") == true)
            // Last-Event-ID resumes after the last position seen.
            let resumed = try await client.get(
                "/events?limit=1", headers: [.accept: "text/event-stream", HTTPField.Name("Last-Event-ID")!: "2"])
            #expect(resumed.text.hasPrefix("id: 3\n"))
        }
    }
}

@Suite struct FlushRouteTests {
    @Test func flushNamedCutsAndTheCutList() async throws {
        try await withAPI { api, client in
            #expect(try await client.get("/cuts").object["cuts"] as? [Any] != nil)
            for i in 1...4 { _ = try await client.append("s", #"{"type":"T","data":\#(i)}"#) }
            let cut = try await client.post("/cuts/first")
            #expect(cut.status == .created, "\(cut.text)")
            #expect(cut.object["events"] as? Int == 4 && cut.object["cut"] as? String == "first")
            #expect(cut.object["last_position"] as? Int == 4)
            let again = try await client.post("/cuts/second")
            #expect(again.status == .conflict && again.object["error"] as? String == "nothing-to-flush")
            let idle = try await client.post("/flush")
            #expect(idle.status == .ok && idle.object["events"] as? Int == 0)
            _ = try await client.append("s", #"{"type":"T","data":5}"#)
            #expect(try await client.post("/flush").object["events"] as? Int == 1)

            let named = try await client.get("/cuts").object["cuts"] as? [[String: Any]] ?? []
            #expect(named.map { $0["name"] as? String } == ["first"])
            #expect(named.first?["last_position"] as? Int == 4 && named.first?["events"] as? Int == 4)
            let all = try await client.get("/cuts?all=true").object["cuts"] as? [[String: Any]] ?? []
            #expect(all.count == 2 && all.last?["last_position"] as? Int == 5)
            #expect(try await api.store.flushCursor().position == 5)
        }
    }

    @Test func aTakenOrUnselectableCutNameIsRefusedWithoutFlushing() async throws {
        try await withAPI { api, client in
            for i in 1...2 { _ = try await client.append("s", #"{"type":"T","data":\#(i)}"#) }
            #expect(try await client.post("/cuts/month-end").status == .created)
            _ = try await client.append("s", #"{"type":"T","data":3}"#)
            let taken = try await client.post("/cuts/month-end")
            #expect(taken.status == .conflict, "\(taken.text)")
            #expect(taken.object["error"] as? String == "cut-name-taken")
            #expect((taken.object["message"] as? String)?.contains("already taken") == true)
            let reserved = try await client.post("/cuts/latest")
            #expect(reserved.status == .unprocessableContent && reserved.object["error"] as? String == "invalid-input")
            #expect((reserved.object["message"] as? String)?.contains("reserved") == true, "\(reserved.text)")
            // Neither refusal flushed: the third event is still waiting, and the name still names the first cut.
            #expect(try await api.store.flushCursor().position == 2)
            let named = try await client.get("/cuts").object["cuts"] as? [[String: Any]] ?? []
            #expect(named.map { $0["name"] as? String } == ["month-end"])
            #expect(try await client.post("/cuts/month-end-2").status == .created)
        }
    }

    @Test func readinessFollowsTheFlushLag() async throws {
        try await withAPI(configure: { $0.readyMaxLagEvents = 2 }) { _, client in
            #expect(try await client.get("/ready").status == .ok)
            for i in 1...3 { _ = try await client.append("s", #"{"type":"T","data":\#(i)}"#) }
            let lagging = try await client.get("/ready")
            #expect(lagging.status == .serviceUnavailable)
            #expect(lagging.object["unflushed_events"] as? Int == 3)
            #expect(lagging.object["ready"] as? Bool == false)
            _ = try await client.post("/flush")
            let ready = try await client.get("/ready")
            #expect(ready.status == .ok && ready.object["ready"] as? Bool == true, "\(ready.text)")
            #expect(ready.object["flush_lease_held"] as? Bool == true)
        }
    }

    @Test func metricsCountAppendsConflictsReplaysAndFlushes() async throws {
        try await withAPI { _, client in
            _ = try await client.append("s", #"[{"type":"A","data":1},{"type":"B","data":2}]"#, key: "k1")
            _ = try await client.append("s", #"[{"type":"A","data":1},{"type":"B","data":2}]"#, key: "k1")
            _ = try await client.append("s", #"{"type":"C","data":3}"#, expected: "no-stream")
            _ = try await client.append("s", #"{"type":"C""#)
            _ = try await client.append("s", #"{"type":"C","data":3}"#)
            let beforeFlush = try await client.get("/metrics")
            #expect(beforeFlush.headers[.contentType]?.hasPrefix("text/plain") == true)
            #expect(beforeFlush.text.contains("archiver_flush_lag_events 3.0"), "\(beforeFlush.text)")
            _ = try await client.post("/flush")
            let text = try await client.get("/metrics").text
            for line in [
                "archiver_appended_events_total 3", "archiver_append_conflicts_total 1",
                "archiver_idempotent_replays_total 1", #"archiver_append_requests_total{result="created"} 2"#,
                #"archiver_append_requests_total{result="invalid"} 1"#,
                #"archiver_errors_total{kind="wrongExpectedVersion"} 1"#, "archiver_flushed_events_total 3",
                "archiver_last_cut_position 3.0", "archiver_flush_lag_events 0.0", "archiver_flush_lease_held 1.0",
                #"archiver_append_duration_seconds_count 5"#,
            ] {
                #expect(text.contains(line + "\n"), "missing \(line)")
            }
            #expect(text.contains(#"archiver_segment_bytes_total{kind="stored"}"#))
            #expect(text.contains("archiver_compression_ratio"))
        }
    }
}
