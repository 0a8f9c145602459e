import ArchiverConfiguration
import ArchiverCore
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Lode
import Testing

@testable import ArchiverServer

/// The console's pages in process: tokens, headers, escaping, CSRF, and figures equal to the JSON API's.
@Suite struct ConsoleRouteTests {
    static let pages = ["/ui", "/ui/cuts", "/ui/streams", "/ui/streams?name=s-1", "/ui/log"]
    static let xss = "<script>alert(1)</script>"

    @Test func everyPageIsServedWithAStrictPolicyAndWithinItsBudget() async throws {
        try await withAPI { _, client in
            _ = try await client.append("s-1", #"[{"type":"Opened","data":{}}]"#)
            for page in Self.pages {
                let response = try await client.get(page)
                #expect(response.status == .ok, "\(page)")
                #expect(response.headers[.contentType] == "text/html; charset=utf-8")
                let policy = try #require(response.headers[.contentSecurityPolicy])
                #expect(policy.contains("default-src 'none'") && policy.contains("script-src 'self'"))
                #expect(!policy.contains("unsafe-inline") && !policy.contains("unsafe-eval"))
                #expect(policy.contains("frame-ancestors 'none'") && policy.contains("form-action 'self'"))
                #expect(response.headers[HTTPField.Name("X-Content-Type-Options")!] == "nosniff")
                #expect(response.body.readableBytes < ConsoleResponse.pageBudgetBytes, "\(page) is over budget")
                // Nothing loaded from elsewhere, no inline script or style.
                #expect(!response.text.contains("src=\"http") && !response.text.contains("href=\"http"))
                #expect(!response.text.contains("<script>") && !response.text.contains("style="))
            }
            let css = try await client.get("/ui/assets/console.css")
            #expect(css.status == .ok && css.headers[.contentType] == "text/css; charset=utf-8")
            #expect(css.text.contains(":focus-visible"))
        }
    }

    @Test func withTokensEveryPageAnswers401WithTheSignInFormAndTheCookieOpensThem() async throws {
        let reader = APITokenEntry.generate(name: "reader", scopes: [.read])
        try await withAPI(configure: { $0.tokens = [reader.entry] }) { _, client in
            for page in Self.pages {
                let response = try await client.get(page)
                #expect(response.status == .unauthorized, "\(page)")
                #expect(response.text.contains(#"<form method="post" action="/ui/login""#))
            }
            let wrong = try await client.form("/ui/login", ["token": "arch_nope"])
            #expect(wrong.status == .unauthorized)
            #expect(wrong.headers[.setCookie] == nil)

            let login = try await client.form("/ui/login", ["token": reader.token])
            #expect(login.status == .seeOther && login.headers[.location] == "/ui")
            let cookie = try #require(login.headers[.setCookie])
            #expect(cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict") && cookie.contains("Path=/ui"))
            let pair = String(cookie.prefix { $0 != ";" })
            for page in Self.pages {
                #expect(try await client.get(page, headers: [.cookie: pair]).status == .ok, "\(page)")
            }
            #expect(try await client.get("/ui", token: reader.token).status == .ok, "a bearer header works too")
            #expect(
                try await client.get("/ui", headers: [.cookie: "archiver_console=arch_forged"]).status == .unauthorized)
        }
    }

    @Test func aStreamNamedLikeAScriptRendersAsText() async throws {
        try await withAPI { _, client in
            let stream = Self.xss.addingPercentEncoding(withAllowedCharacters: .alphanumerics)!
            let appended = try await client.append(
                stream, #"[{"type":"<img src=x onerror=alert(2)>","data":{"html":"</td><script>alert(3)</script>"}}]"#)
            #expect(appended.status == .created)
            let page = try await client.get("/ui/streams?name=\(stream)")
            #expect(page.status == .ok)
            #expect(page.text.contains("&lt;script&gt;alert(1)&lt;/script&gt;"))
            #expect(page.text.contains("&lt;img src=x onerror=alert(2)&gt;"))
            #expect(page.text.contains("&lt;/td&gt;&lt;script&gt;alert(3)&lt;/script&gt;"))
            #expect(!page.text.contains("<script>alert") && !page.text.contains("<img src=x"))
        }
    }

    @Test func creatingACutNeedsTheCSRFTokenAndTheAdminScope() async throws {
        let reader = APITokenEntry.generate(name: "reader", scopes: [.read])
        let admin = APITokenEntry.generate(name: "ops", scopes: [.admin])
        try await withAPI(configure: { $0.tokens = [reader.entry, admin.entry] }) { _, client in
            _ = try await client.append("s-1", #"[{"type":"Opened","data":{}}]"#, token: admin.token)
            let page = try await client.get("/ui/cuts", token: admin.token)
            let csrf = try #require(Self.capture(#"name="csrf" value="([0-9a-f]{64})""#, in: page.text))

            let missing = try await client.form("/ui/cuts", ["name": "no-csrf"], token: admin.token)
            #expect(missing.status == .forbidden && missing.text.contains("CSRF"))
            let forged = try await client.form(
                "/ui/cuts", ["name": "forged", "csrf": String(repeating: "0", count: 64)], token: admin.token)
            #expect(forged.status == .forbidden)
            let otherOrigin = try await client.form(
                "/ui/cuts", ["name": "cross", "csrf": csrf], token: admin.token, origin: "https://evil.example")
            #expect(otherOrigin.status == .forbidden)
            let readerCSRF = try #require(
                Self.capture(
                    #"name="csrf" value="([0-9a-f]{64})""#, in: try await client.get("/ui", token: reader.token).text))
            #expect(readerCSRF != csrf, "the CSRF token is bound to the credential")
            let readOnly = try await client.form(
                "/ui/cuts", ["name": "reader", "csrf": readerCSRF], token: reader.token)
            #expect(readOnly.status == .forbidden)
            let before = try await client.get("/cuts", token: admin.token).object["cuts"] as? [Any]
            #expect(before?.isEmpty == true, "no refused form created a cut")

            let created = try await client.form(
                "/ui/cuts", ["name": "before-migration", "csrf": csrf], token: admin.token)
            #expect(created.status == .seeOther && created.headers[.location] == "/ui/cuts?created=before-migration")
            let cuts = try await client.get("/cuts", token: admin.token).object["cuts"] as? [[String: Any]] ?? []
            #expect(cuts.compactMap { $0["name"] as? String } == ["before-migration"])
            let listed = try await client.get("/ui/cuts?created=before-migration", token: admin.token).text
            #expect(listed.contains("<td>before-migration</td>") && listed.contains(#"id="cut-created""#))
            let again = try await client.form(
                "/ui/cuts", ["name": "before-migration", "csrf": csrf], token: admin.token)
            let api = try await client.post("/cuts/before-migration", token: admin.token)
            #expect(api.status.code >= 400 && again.status == api.status, "the status the API answers")
            #expect(again.text.contains(#"id="cut-error""#) && again.text.contains("already taken"))
        }
    }

    @Test func theOverviewShowsTheFiguresOfTheJSONAPI() async throws {
        try await withAPI { api, client in
            for i in 1...3 {
                _ = try await client.append("acct-\(i)", #"[{"type":"Opened","data":{}},{"type":"Paid","data":{}}]"#)
            }
            _ = try await client.post("/flush")
            _ = try await client.append("acct-9", #"[{"type":"Opened","data":{}}]"#)
            await ConsoleSampler(api: api).takeSample()
            let readyAt = ContinuousClock.now
            let ready = try await client.get("/ready").object
            let overview = try await client.get("/ui").text
            let between = Int((ContinuousClock.now - readyAt).components.seconds)
            #expect(Self.figure("unflushed-events", overview) == "\(ready["unflushed_events"] as? Int ?? -1)")
            // Whole seconds of an age read at two moments: the page may be older than the JSON by the seconds
            // that passed between the two reads, plus one for rounding.
            let lag = try #require(ready["lag_seconds"] as? Int)
            let shown = try #require(Self.figure("lag-seconds", overview).flatMap { Int($0) })
            #expect((lag...(lag + between + 1)).contains(shown), "the console shows \(shown) s, /ready said \(lag) s")
            #expect(Self.figure("flush-cursor", overview) == "6")
            #expect(Self.figure("hot-head", overview) == "7")
            #expect(Self.figure("safe-mark", overview) == "7")
            #expect(Self.figure("pruned-through", overview) == "0")
            let head = try #require(try await api.archive.events.head())
            #expect(Self.figure("archive-bytes", overview) == "\(head.files.reduce(0) { $0 + $1.sizeBytes })")
            #expect(Self.figure("archive-head", overview) == head.snapshotID)
            #expect(overview.contains("<td>acct</td>"), "sizes by category")
            let stream = try await client.get("/streams/acct-2").object
            let page = try await client.get("/ui/streams?name=acct-2").text
            #expect(Self.figure("stream-version", page) == "\(stream["version"] as? Int ?? -1)")
        }
    }

    @Test func theStreamPageShowsPrunedEventsFromTheArchiveLikeTheJSONAPI() async throws {
        try await withAPI { api, client in
            _ = try await client.append("acct-1", Self.batch(["Opened", "Paid", "Paid"]))
            #expect(try await client.post("/flush").status == .ok)
            _ = try await client.append("acct-1", Self.batch(["Paid", "Closed"]))
            #expect(try await client.post("/flush").status == .ok)
            _ = try await client.append("acct-1", Self.batch(["Reopened"]))
            let summary = try await Pruner(archive: api.archive, store: api.store).run(before: .position(3))
            #expect(summary.prunedThrough == 3 && summary.deleted == 3)

            let stream = try await client.get("/streams/acct-1").object
            let apiEvents = try #require(stream["events"] as? [[String: Any]])
            let page = try await client.get("/ui/streams?name=acct-1").text
            #expect(Self.figure("stream-tier", page) == "mixed")
            let rows = Self.rows(page)
            #expect(rows.map(\.version) == apiEvents.map { "\($0["version"] as? Int ?? -1)" })
            #expect(rows.map(\.position) == apiEvents.map { "\($0["position"] as? Int ?? -1)" })
            #expect(rows.map(\.type) == apiEvents.map { $0["type"] as? String ?? "?" })
            #expect(rows.map(\.tier) == ["archive", "archive", "archive", "store", "store", "store"])

            let fromFour = try await client.get("/ui/streams?name=acct-1&from=4").text
            #expect(Self.figure("stream-tier", fromFour) == "store")
            #expect(Self.rows(fromFour).map(\.tier) == ["store", "store", "store"])
            #expect(try await client.post("/flush").status == .ok)
            _ = try await Pruner(archive: api.archive, store: api.store).run(before: .latest)
            let archived = try await client.get("/ui/streams?name=acct-1&from=2").text
            #expect(Self.figure("stream-tier", archived) == "archive")
            #expect(Self.rows(archived).map(\.tier) == Array(repeating: "archive", count: 5))
            #expect(Self.rows(archived).map(\.type) == ["Paid", "Paid", "Paid", "Closed", "Reopened"])
        }
    }

    /// An append body of events of these types.
    static func batch(_ types: [String]) -> String {
        "[" + types.map { #"{"type":"\#($0)","data":{"n":1}}"# }.joined(separator: ",") + "]"
    }

    /// The version, position, type and tier cells of the stream page's event rows.
    static func rows(_ page: String) -> [(version: String, position: String, type: String, tier: String)] {
        let pattern =
            #"<tr><td class="num">(\d+)</td><td class="num">(\d+)</td><td>([^<]*)</td><td>[^<]*</td>"#
            + #"<td class="tier">([a-z]+)</td>"#
        guard let regex = try? NSRegularExpression(pattern: pattern) else { return [] }
        return regex.matches(in: page, range: NSRange(page.startIndex..., in: page)).map { match in
            let cell = { (i: Int) in Range(match.range(at: i), in: page).map { String(page[$0]) } ?? "" }
            return (cell(1), cell(2), cell(3), cell(4))
        }
    }

    @Test func refusedRequestsReachTheLogPageRedacted() async throws {
        let reader = APITokenEntry.generate(name: "reader", scopes: [.read])
        try await withAPI(configure: { $0.tokens = [reader.entry] }) { _, client in
            _ = try await client.get("/events")
            _ = try await client.form("/ui/login", ["token": "arch_0123456789abcdef"])
            let log = try await client.get("/ui/log", token: reader.token).text
            #expect(log.contains("refused request") && log.contains("path=/events") && log.contains("status=401"))
            #expect(log.contains("console sign-in refused"))
            #expect(!log.contains("arch_0123456789abcdef") && !log.contains(reader.token))
        }
    }

    @Test func secretsAreRedactedInTheLogRing() {
        let text = LogRing.redact(
            "token arch_deadbeef Authorization: Bearer abc.def url postgres://app:hunter2@db/x?password=pw&x=1")
        #expect(
            text
                == "token arch_[redacted] Authorization: Bearer [redacted] url postgres://[redacted]@db/x?password=[redacted]&x=1"
        )
        let ring = LogRing(capacity: 2)
        for i in 1...3 { ring.record("e\(i)") }
        #expect(ring.recent.map(\.message) == ["e3", "e2"])
    }

    @Test func theSampleIntervalIsASettingAboveZero() throws {
        let defaults = try ConfigResolver(sources: ConfigSources()).serverConfiguration()
        #expect(defaults.consoleSampleInterval == 15)
        let fast = ConfigResolver(flags: ["console-sample-interval": "0.5"], sources: ConfigSources())
        #expect(try fast.serverConfiguration().consoleSampleInterval == 0.5)
        let zero = ConfigResolver(flags: ["console-sample-interval": "0"], sources: ConfigSources())
        let error = #expect(throws: ConfigError.self) { try zero.serverConfiguration() }
        #expect(error?.message.contains("console-sample-interval must be more than 0") == true)
    }

    @Test func chartsAreDrawnFromTheSampleRing() {
        let ring = SampleRing(capacity: 3)
        let start = Date(timeIntervalSince1970: 1_000_000)
        for i in 0..<5 {
            ring.append(
                .init(
                    time: start + Double(i) * 15, headPosition: Int64(i) * 150, unflushedEvents: Int64(i),
                    lagSeconds: 0, archiveBytes: 0))
        }
        #expect(ring.samples.map(\.headPosition) == [300, 450, 600], "oldest first, the oldest overwritten")
        let chart = SVGChart(
            title: "Lag <x>", unit: "events", points: ring.samples.map { ($0.time, Double($0.unflushedEvents)) }
        )
        .render(id: "c")
        #expect(chart.text.contains("<polyline points=\"56.0,") && chart.text.contains("Lag &lt;x&gt;: 4.0 events"))
        #expect(chart.text.contains("3 samples over 30 s") && chart.text.contains(">−30 s</text>"))
        #expect(SVGChart.duration(7_200) == "120 min" && SVGChart.duration(44.6) == "45 s")
        let empty = SVGChart(title: "t", unit: "u", points: [], sampleInterval: 2).render(id: "e").text
        #expect(empty.contains("Collecting samples (one every 2 s)") && !empty.contains("<svg"))
    }

    static func figure(_ id: String, _ page: String) -> String? {
        capture(#"id="\#(id)">([^<]*)<"#, in: page)
    }

    static func capture(_ pattern: String, in text: String) -> String? {
        guard let regex = try? NSRegularExpression(pattern: pattern),
            let match = regex.firstMatch(in: text, range: NSRange(text.startIndex..., in: text)),
            let range = Range(match.range(at: 1), in: text)
        else { return nil }
        return String(text[range])
    }
}

extension TestClientProtocol {
    /// A form post as a browser sends it.
    func form(
        _ uri: String, _ fields: [String: String], token: String? = nil, origin: String? = nil
    ) async throws -> TestResponse {
        var headers: HTTPFields = [.contentType: "application/x-www-form-urlencoded"]
        if let token { headers[.authorization] = "Bearer \(token)" }
        if let origin { headers[.origin] = origin }
        let body = fields.map {
            "\($0.key)=\($0.value.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? "")"
        }.joined(separator: "&")
        return try await execute(uri: uri, method: .post, headers: headers, body: ByteBuffer(string: body))
    }
}
