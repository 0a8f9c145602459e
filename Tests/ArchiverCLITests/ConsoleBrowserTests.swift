import Foundation
import TestSupport
import Testing

/// The operator console in a real browser: a real `archiver serve`, driven in headless Chromium by selenium
/// (Fixtures/console_browser.py, which lists its checks). Screenshots land in `.build/test-artifacts/`.
@Suite struct ConsoleBrowserTests {
    static let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("Fixtures/console_browser.py").path
    static let artifacts = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent(".build/test-artifacts").path

    /// Debian's `chromium` and `chromium-driver`, and selenium for python3 (`make deps` installs them).
    static let browserAvailable: Bool = {
        let files = ["/usr/bin/chromium", "/usr/bin/chromedriver"]
        guard files.allSatisfy({ FileManager.default.isExecutableFile(atPath: $0) }) else { return false }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", "-c", "import selenium"]
        process.standardError = FileHandle.nullDevice
        guard (try? process.run()) != nil else { return false }
        process.waitUntilExit()
        return process.terminationStatus == 0
    }()

    static let xss = "<script>alert(1)</script>"

    @Test(.enabled(if: browserAvailable, "needs chromium, chromium-driver and python3 selenium (make deps)"))
    func theConsoleWorksInHeadlessChromium() async throws {
        try await withTemporaryDirectory { dir in
            let generated = try await CLI.ok(["tokens", "generate", "--name", "ops", "--scope", "admin"], in: dir)
            let lines = generated.split(separator: "\n")
            let token = String(try #require(lines.first { $0.hasPrefix("token: ") }).dropFirst("token: ".count))
            let entry = String(try #require(lines.first { $0.hasPrefix("entry: ") }).dropFirst("entry: ".count))
            try "tokens:\n  - \(entry)\nflush-interval: 0\n".write(
                toFile: dir + "/archiver.yaml", atomically: true, encoding: .utf8)
            // One chart sample a second, so the overview's charts have data by the time the browser opens it.
            let server = try await ServeProcess(["--console-sample-interval", "1"], in: dir)
            defer { server.cleanUp() }
            let auth = ["Authorization": "Bearer \(token)"]
            let xssPath = Self.xss.addingPercentEncoding(withAllowedCharacters: .alphanumerics)!
            for stream in [xssPath, "account-1", "account-2", "order-7"] {
                let reply = try await server.request(
                    "POST", "/streams/\(stream)/events",
                    body: #"[{"type":"Opened","data":{"n":1}},{"type":"Noted","data":{}}]"#,
                    headers: auth)
                #expect(reply.status == 201)
            }
            // Samples in between: the append-rate, lag and size charts each get more than one distinct value.
            try await Task.sleep(for: .seconds(2))
            #expect(try await server.request("POST", "/flush", headers: auth).status == 200)
            try await Task.sleep(for: .seconds(2))
            _ = try await server.request(
                "POST", "/streams/account-1/events", body: #"{"type":"Paid","data":{"amount":5}}"#, headers: auth)
            try await Task.sleep(for: .seconds(2))

            try FileManager.default.createDirectory(atPath: Self.artifacts, withIntermediateDirectories: true)
            let run = try await runTool(
                "python3", [Self.script, server.baseURL, token, Self.xss, "from-the-browser", Self.artifacts])
            let output = run.text + run.errorText
            #expect(run.status == 0, "browser checks failed:\n\(output)")
            #expect(run.text.split(separator: "\n").filter { $0.hasPrefix("ok ") }.count >= 20, "\(output)")

            let cuts = try await CLI.ok(["cut", "list"], in: dir)
            #expect(cuts.contains("from-the-browser"), "archiver cut list: \(cuts)")
            for shot in ["console-login", "console-overview", "console-stream", "console-cuts", "console-log"] {
                let png = try Data(contentsOf: URL(fileURLWithPath: "\(Self.artifacts)/\(shot).png"))
                #expect(png.count > 5_000 && png.prefix(4) == Data([0x89, 0x50, 0x4E, 0x47]), "\(shot).png")
            }
            server.signal(SIGINT)
            #expect(try await server.waitForExit()?.status == 0)
            #expect(!server.stderr.contains(token), "the token must not reach the log")
        }
    }
}
