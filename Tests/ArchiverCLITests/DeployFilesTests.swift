import Foundation
import Testing

/// The files in deploy/ are not run here (no docker, systemd or Kubernetes), so these tests keep them honest:
/// the YAML parses, probes point at real endpoints, and every flag, environment variable and configuration
/// key they use is one the binary accepts (checked by running `archiver config check` with them).
@Suite struct DeployFilesTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().path
    static let deploy = root + "/deploy"

    /// The YAML documents of a file, parsed by PyYAML and handed over as JSON.
    static func yamlDocuments(_ path: String) async throws -> [[String: Any]] {
        let script = "import yaml, json, sys; print(json.dumps(list(yaml.safe_load_all(open(sys.argv[1])))))"
        let (status, out, err) = try await shell("python3 -c '\(script)' '\(path)'", in: root)
        #expect(status == 0, "\(path) is not valid YAML: \(err)")
        return (try JSONSerialization.jsonObject(with: Data(out.utf8)) as? [[String: Any]]) ?? []
    }

    /// The long flags `archiver serve --help` lists.
    static func serveFlags() async throws -> Set<String> {
        let help = try await CLI.run(["serve", "--help"], in: root)
        let flags = help.stdout.split(whereSeparator: { !$0.isLetter && $0 != "-" }).filter { $0.hasPrefix("--") }
        return Set(flags.map(String.init))
    }

    /// The configuration keys `archiver config check` knows.
    static func configKeys() async throws -> Set<String> {
        let out = try await withTemporaryDirectory { try await CLI.ok(["config", "check"], in: $0) }
        return Set(
            out.split(separator: "\n").compactMap { line -> String? in
                let text = line.hasPrefix("# ") ? line.dropFirst(2) : line[...]
                guard let colon = text.firstIndex(of: ":"), !text.hasPrefix("effective") else { return nil }
                return String(text[..<colon])
            })
    }

    static func expectKnownFlags(_ args: [String], _ known: Set<String>, _ file: String) {
        for arg in args where arg.hasPrefix("--") {
            #expect(known.contains(arg), "\(file) uses \(arg), which archiver serve does not accept")
        }
    }

    static func expectKnownEnvironment(_ names: [String], _ keys: Set<String>, _ file: String) {
        for name in names where name.hasPrefix("ARCHIVER_") && name != "ARCHIVER_CONFIG" {
            let key = name.dropFirst("ARCHIVER_".count).lowercased().replacingOccurrences(of: "_", with: "-")
            #expect(keys.contains(key), "\(file) sets \(name), which is no configuration key")
        }
    }

    static let tokenEntry = "app:append+read:" + String(repeating: "ab", count: 32)

    @Test func kubernetesManifestMatchesTheBinary() async throws {
        let documents = try await Self.yamlDocuments(Self.deploy + "/kubernetes/archiver.yaml")
        let kinds = documents.compactMap { $0["kind"] as? String }
        #expect(Set(kinds).isSuperset(of: ["Deployment", "Secret", "ConfigMap"]))
        let deployment = try #require(documents.first { $0["kind"] as? String == "Deployment" })
        let spec = try #require(deployment["spec"] as? [String: Any])
        #expect(spec["replicas"] as? Int == 2)
        let pod = try #require((spec["template"] as? [String: Any])?["spec"] as? [String: Any])
        let containers = pod["containers"] as? [[String: Any]] ?? []
        let archiver = try #require(containers.first { $0["name"] as? String == "archiver" })
        let args = archiver["args"] as? [String] ?? []
        #expect(args.first == "serve")
        Self.expectKnownFlags(args, try await Self.serveFlags(), "kubernetes/archiver.yaml")
        let port = (archiver["ports"] as? [[String: Any]])?.first?["containerPort"] as? Int
        #expect(port == 8080 && args.contains("8080"))
        for (probe, path) in [("livenessProbe", "/health"), ("readinessProbe", "/ready")] {
            let get = (archiver[probe] as? [String: Any])?["httpGet"] as? [String: Any]
            #expect(get?["path"] as? String == path && get?["port"] as? Int == port, "\(probe)")
        }
        let grace = pod["terminationGracePeriodSeconds"] as? Int ?? 30

        // The ConfigMap's archiver.yaml plus the Secret's values, checked by the binary itself.
        let configMap = try #require(documents.first { $0["kind"] as? String == "ConfigMap" })
        let yaml = try #require((configMap["data"] as? [String: String])?["archiver.yaml"])
        let secret = try #require(documents.first { $0["kind"] as? String == "Secret" })
        let secretData = secret["stringData"] as? [String: String] ?? [:]
        let env = archiver["env"] as? [[String: Any]] ?? []
        Self.expectKnownEnvironment(env.compactMap { $0["name"] as? String }, try await Self.configKeys(), "kubernetes")
        try await withTemporaryDirectory { dir in
            try yaml.write(toFile: dir + "/archiver.yaml", atomically: true, encoding: .utf8)
            let checked = try await CLI.run(
                ["config", "check"], in: dir,
                environment: [
                    "ARCHIVER_STORE": secretData["store"] ?? "", "ARCHIVER_TOKENS": secretData["tokens"] ?? "",
                    "ARCHIVER_HOLDER": "bank-app-0",
                ])
            #expect(checked.status == 0, "\(checked.stderr)")
            #expect(!checked.stdout.contains("CHANGE-ME"), "the store password must be redacted")
            let deadline = checked.stdout.split(separator: "\n").first { $0.hasPrefix("shutdown-deadline:") }
            let seconds = deadline.flatMap { Double($0.split(separator: " ")[1]) } ?? 0
            #expect(
                seconds > 0 && Double(grace) > seconds, "terminationGracePeriodSeconds must exceed shutdown-deadline")
        }
    }

    @Test func composeFileMatchesTheBinary() async throws {
        let compose = try #require(try await Self.yamlDocuments(Self.deploy + "/docker-compose.yml").first)
        let services = try #require(compose["services"] as? [String: Any])
        #expect(Set(services.keys) == ["postgres", "archiver", "minio"])
        let archiver = try #require(services["archiver"] as? [String: Any])
        let command = archiver["command"] as? [String] ?? []
        #expect(command.first == "serve")
        Self.expectKnownFlags(command, try await Self.serveFlags(), "docker-compose.yml")
        var environment = archiver["environment"] as? [String: String] ?? [:]
        Self.expectKnownEnvironment(Array(environment.keys), try await Self.configKeys(), "docker-compose.yml")
        environment["ARCHIVER_TOKENS"] = Self.tokenEntry
        let checked = try await withTemporaryDirectory {
            try await CLI.run(["config", "check"], in: $0, environment: environment)
        }
        #expect(checked.status == 0, "\(checked.stderr)")
        #expect(!checked.stdout.contains("archiver-dev-password"))
        #expect((archiver["ports"] as? [String])?.contains("8080:8080") == true && command.contains("8080"))
    }

    @Test func systemdUnitDockerfileAndExampleConfigMatchTheBinary() async throws {
        let unit = try String(contentsOfFile: Self.deploy + "/systemd/archiver.service", encoding: .utf8)
        let execStart = try #require(unit.split(separator: "\n").first { $0.hasPrefix("ExecStart=") })
        let args = execStart.split(separator: " ").dropFirst().map(String.init)
        #expect(args.first == "serve")
        let flags = try await Self.serveFlags()
        Self.expectKnownFlags(args, flags, "archiver.service")
        for setting in ["NoNewPrivileges=yes", "ProtectSystem=strict", "KillSignal=SIGTERM"] {
            #expect(unit.contains(setting))
        }
        let dockerfile = try String(contentsOfFile: Self.deploy + "/Dockerfile", encoding: .utf8)
        let cmd = try #require(dockerfile.split(separator: "\n").first { $0.hasPrefix("CMD ") })
        let cmdArgs = try #require(
            try JSONSerialization.jsonObject(with: Data(cmd.dropFirst(4).utf8)) as? [String])
        Self.expectKnownFlags(cmdArgs, flags, "Dockerfile")
        for library in ["libpq5", "libsqlite3-0", "libzstd1"] { #expect(dockerfile.contains(library)) }

        _ = try await Self.yamlDocuments(Self.deploy + "/archiver.example.yaml")
        let checked = try await CLI.run(
            ["config", "check", "--config", Self.deploy + "/archiver.example.yaml"], in: Self.root)
        #expect(checked.status == 0, "\(checked.stderr)")
    }
}
