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
        #expect(
            (archiver["ports"] as? [String])?.contains("8080:8080") == true && environment["ARCHIVER_PORT"] == "8080")
        #expect(!command.contains("--host") && !command.contains("--port"), "the listen address is set once, in env")
        #expect(archiver["volumes"] as? [String] == ["archive:/var/lib/archiver/archive"])
    }

    /// The compose healthcheck is a CMD-SHELL line, so the image's `sh` (dash) runs it: run it under dash against
    /// a real sidecar (ready: 0) and against nothing (non-zero).
    @Test(.enabled(if: FileManager.default.isExecutableFile(atPath: "/bin/dash")))
    func composeHealthcheckWorksUnderDash() async throws {
        let compose = try #require(try await Self.yamlDocuments(Self.deploy + "/docker-compose.yml").first)
        let archiver = try #require((compose["services"] as? [String: Any])?["archiver"] as? [String: Any])
        let test = try #require((archiver["healthcheck"] as? [String: Any])?["test"] as? [String])
        try #require(test.count == 2 && test[0] == "CMD-SHELL", "\(test)")
        try await withTemporaryDirectory { dir in
            let server = try await ServeProcess(["--flush-interval", "60", "--lease-ttl", "120"], in: dir)
            defer { server.cleanUp() }
            let port = try #require(server.baseURL.split(separator: ":").last.map(String.init))
            // As in the container: ARCHIVER_HOST 0.0.0.0 from the image, probed on loopback.
            let environment = ["ARCHIVER_HOST": "0.0.0.0", "ARCHIVER_PORT": port]
            let healthy = try await Self.dash(test[1], in: dir, environment: environment)
            #expect(healthy.status == 0, "\(healthy.output)")
            server.signal(SIGTERM)
            _ = try await server.waitForExit()
            let down = try await Self.dash(test[1], in: dir, environment: environment)
            #expect(down.status != 0, "the healthcheck passed with no sidecar running")
        }
    }

    /// `dash -c SCRIPT` with the built archiver first on PATH.
    static func dash(
        _ script: String, in directory: String, environment: [String: String]
    ) async throws -> (status: Int32, output: String) {
        var env = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("ARCHIVER_") }
        for (name, value) in environment { env[name] = value }
        env["PATH"] = URL(fileURLWithPath: CLI.binary).deletingLastPathComponent().path + ":" + (env["PATH"] ?? "/bin")
        let command =
            "exec env -i "
            + env.map { "'\($0.key)=\($0.value.replacingOccurrences(of: "'", with: ""))'" }
            .joined(separator: " ") + " /bin/dash -c '\(script.replacingOccurrences(of: "'", with: "'\\''"))'"
        let result = try await shell(command, in: directory)
        return (result.status, result.out + result.err)
    }

    @Test func imageCreatesItsDataDirectoriesAndProbesWithoutAShell() throws {
        let dockerfile = try String(contentsOfFile: Self.deploy + "/Dockerfile", encoding: .utf8)
        let joined = dockerfile.replacingOccurrences(of: "\\\n", with: " ")
        let install = try #require(joined.split(separator: "\n").first { $0.contains("install -d") })
        #expect(install.contains("-o 10001 -g 10001"), "\(install)")
        for directory in ["/var/lib/archiver/archive", "/var/lib/archiver/data"] {
            #expect(install.contains(directory), "the image must create \(directory) owned by uid 10001")
        }
        #expect(dockerfile.contains("\nUSER 10001:10001\n"))
        #expect(dockerfile.contains("ENV ARCHIVER_HOST=0.0.0.0 ARCHIVER_PORT=8080"))
        let health = try #require(dockerfile.split(separator: "\n").first { $0.hasPrefix("HEALTHCHECK ") })
        #expect(health.hasSuffix(#"CMD ["/usr/local/bin/archiver", "health", "--quiet"]"#), "\(health)")
    }

    @Test func systemdUnitCreatesItsUserAndReadsTheAddressFromTheConfigFile() async throws {
        let unit = try String(contentsOfFile: Self.deploy + "/systemd/archiver.service", encoding: .utf8)
        let lines = unit.split(separator: "\n").map(String.init)
        let useradd = try #require(
            lines.firstIndex { $0.hasPrefix("#") && $0.contains("useradd") && $0.hasSuffix(" archiver") })
        let firstOwned = try #require(lines.firstIndex { $0.hasPrefix("#") && $0.contains("-o archiver") })
        #expect(useradd < firstOwned, "the archiver user must exist before files are installed for it")
        let execStart = try #require(lines.first { $0.hasPrefix("ExecStart=") })
        #expect(execStart == "ExecStart=/usr/local/bin/archiver serve", "host/port come from archiver.yaml alone")
        let documentation = try #require(lines.first { $0.hasPrefix("Documentation=") })
        let docPath = String(documentation.dropFirst("Documentation=file:".count))
        #expect(
            documentation.hasPrefix("Documentation=https://")
                || lines.contains { $0.hasPrefix("#") && $0.contains("install") && $0.hasSuffix(" " + docPath) },
            "\(documentation) names a file no install step puts there")
        let post = try #require(lines.first { $0.hasPrefix("ExecStartPost=") })
        let postArgs = post.split(separator: " ").dropFirst().map(String.init)
        #expect(postArgs.first == "health")
        let help = try await CLI.ok(["health", "--help"], in: Self.root)
        for flag in postArgs where flag.hasPrefix("--") {
            #expect(help.contains(flag), "archiver health has no \(flag)")
        }
        let example = try String(contentsOfFile: Self.deploy + "/archiver.example.yaml", encoding: .utf8)
        #expect(example.contains("\nhost: ") && example.contains("\nport: "))
    }

    /// The replay Job runs only with an explicit CUT: its command, run under dash with the paths pointed at a
    /// real archive, refuses an empty CUT and replays shard 0 of a named cut.
    @Test func replayJobRequiresACutAndSetsFsGroup() async throws {
        let job = try #require(try await Self.yamlDocuments(Self.deploy + "/replay-shards-job.yaml").first)
        let pod = try #require(
            ((job["spec"] as? [String: Any])?["template"] as? [String: Any])?["spec"] as? [String: Any])
        #expect((pod["securityContext"] as? [String: Any])?["fsGroup"] as? Int == 10001)
        let container = try #require((pod["containers"] as? [[String: Any]])?.first)
        let script = try #require((container["args"] as? [String])?.first)
        let cut = (container["env"] as? [[String: Any]])?.first { $0["name"] as? String == "CUT" }
        #expect(cut?["value"] as? String == "", "CUT has no default: every shard must be pinned to one cut")
        try await withTemporaryDirectory { dir in
            try await CLI.ok(["init"], in: dir)
            try await CLI.ok(["append"], in: dir, input: bankEvents(events: 200, accounts: 10, seed: 3))
            try await CLI.ok(["flush", "--cut", "month-end", "--quiet"], in: dir)
            try FileManager.default.createDirectory(atPath: dir + "/out", withIntermediateDirectories: true)
            let local = script.replacingOccurrences(of: "/archive", with: dir + "/archive")
                .replacingOccurrences(of: "/out/", with: dir + "/out/")
            let unset = try await Self.dash(local, in: dir, environment: ["JOB_COMPLETION_INDEX": "0", "CUT": ""])
            #expect(unset.status != 0 && unset.output.contains("set CUT"), "\(unset.output)")
            let pinned = try await Self.dash(
                local, in: dir, environment: ["JOB_COMPLETION_INDEX": "0", "CUT": "month-end"])
            #expect(pinned.status == 0, "\(pinned.output)")
            let rows = try String(contentsOfFile: dir + "/out/part-0.jsonl", encoding: .utf8)
            #expect(rows.contains(#""stream":"account-"#), "\(rows)")
        }
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

/// deploy/helm/archiver, rendered by scripts/helm-template.py (no helm binary can be installed here: the script
/// renders the subset of Go templates the chart uses and fails on anything else), then held to the same checks
/// as the plain manifests, with the binary itself checking the rendered configuration.
@Suite struct HelmChartTests {
    static let chart = DeployFilesTests.deploy + "/helm/archiver"

    /// `helm template`-like output of the chart as parsed YAML documents.
    static func render(_ arguments: String) async throws -> (status: Int32, documents: [[String: Any]], err: String) {
        try await withTemporaryDirectory { dir in
            let rendered = try await shell(
                "python3 scripts/helm-template.py '\(chart)' --release bank \(arguments) > '\(dir)/out.yaml'",
                in: DeployFilesTests.root)
            guard rendered.status == 0 else { return (rendered.status, [], rendered.err) }
            return (0, try await DeployFilesTests.yamlDocuments(dir + "/out.yaml"), rendered.err)
        }
    }

    /// The paths of docs/openapi.yaml: the endpoints the server has.
    static func apiPaths() async throws -> Set<String> {
        let spec = try #require(
            try await DeployFilesTests.yamlDocuments(DeployFilesTests.root + "/docs/openapi.yaml").first)
        return Set((spec["paths"] as? [String: Any] ?? [:]).keys)
    }

    struct Expected {
        var app: Bool
        var secret: String?
        var existingSecret: String?
        var pvc: Bool
        var s3: Bool
        var port: Int
        /// `key: value` lines `archiver config check` must print.
        var effective: [String]
    }

    /// Checks one rendering; returns nothing, records issues.
    static func check(_ documents: [[String: Any]], _ expected: Expected) async throws {
        func first(_ kind: String) -> [String: Any]? { documents.first { $0["kind"] as? String == kind } }
        func name(_ document: [String: Any]?) -> String? {
            (document?["metadata"] as? [String: Any])?["name"] as? String
        }
        for document in documents {
            #expect(document["apiVersion"] is String && name(document) != nil, "\(document)")
        }
        var kinds: Set<String> = ["ConfigMap", "Deployment", "Service"]
        if expected.secret != nil { kinds.insert("Secret") }
        if expected.pvc { kinds.insert("PersistentVolumeClaim") }
        #expect(Set(documents.compactMap { $0["kind"] as? String }) == kinds)

        let deployment = try #require(first("Deployment"))
        let spec = try #require(deployment["spec"] as? [String: Any])
        let template = try #require(spec["template"] as? [String: Any])
        let templateMeta = try #require(template["metadata"] as? [String: Any])
        let labels = templateMeta["labels"] as? [String: String] ?? [:]
        let selector = (spec["selector"] as? [String: Any])?["matchLabels"] as? [String: String] ?? [:]
        #expect(!selector.isEmpty && selector.allSatisfy { labels[$0.key] == $0.value })
        let service = try #require(first("Service"))
        let serviceSpec = try #require(service["spec"] as? [String: Any])
        #expect(serviceSpec["selector"] as? [String: String] == selector)

        let pod = try #require(template["spec"] as? [String: Any])
        let podSecurity = pod["securityContext"] as? [String: Any] ?? [:]
        #expect(podSecurity["runAsNonRoot"] as? Bool == true && (podSecurity["runAsUser"] as? Int ?? 0) > 0)
        let containers = pod["containers"] as? [[String: Any]] ?? []
        #expect(containers.count == (expected.app ? 2 : 1))
        for container in containers {
            let security = container["securityContext"] as? [String: Any] ?? [:]
            #expect(security["readOnlyRootFilesystem"] as? Bool == true, "\(container["name"] ?? "")")
            #expect(security["allowPrivilegeEscalation"] as? Bool == false)
            #expect((security["capabilities"] as? [String: Any])?["drop"] as? [String] == ["ALL"])
        }
        let archiver = try #require(containers.first { $0["name"] as? String == "archiver" })

        // Flags, port and probes against the binary and the API.
        let args = archiver["args"] as? [String] ?? []
        #expect(args.first == "serve")
        DeployFilesTests.expectKnownFlags(args, try await DeployFilesTests.serveFlags(), "helm chart")
        let portIndex = try #require(args.firstIndex(of: "--port"))
        #expect(args.indices.contains(portIndex + 1) && args[portIndex + 1] == String(expected.port))
        let ports = archiver["ports"] as? [[String: Any]] ?? []
        #expect(ports.first?["containerPort"] as? Int == expected.port)
        let servicePorts = serviceSpec["ports"] as? [[String: Any]] ?? []
        #expect(servicePorts.first?["targetPort"] as? Int == expected.port)
        let paths = try await apiPaths()
        for (probe, path) in [("livenessProbe", "/health"), ("readinessProbe", "/ready")] {
            let get = (archiver[probe] as? [String: Any])?["httpGet"] as? [String: Any]
            #expect(get?["path"] as? String == path && get?["port"] as? Int == expected.port, "\(probe)")
            #expect(paths.contains(path), "\(path) is not in docs/openapi.yaml")
        }
        let annotations = templateMeta["annotations"] as? [String: String] ?? [:]
        #expect(annotations["prometheus.io/port"] == String(expected.port))
        #expect(annotations["prometheus.io/path"].map { paths.contains($0) } == true)

        // Environment: configuration keys the binary knows, from the Secret that exists.
        let env = archiver["env"] as? [[String: Any]] ?? []
        DeployFilesTests.expectKnownEnvironment(
            env.compactMap { $0["name"] as? String }, try await DeployFilesTests.configKeys(), "helm chart")
        let secretDocument = first("Secret")
        let secretData = secretDocument?["stringData"] as? [String: String] ?? [:]
        let secretName = expected.existingSecret ?? name(secretDocument)
        var fromSecret: [String: String] = [:]
        for entry in env {
            guard let ref = (entry["valueFrom"] as? [String: Any])?["secretKeyRef"] as? [String: Any] else { continue }
            let key = ref["key"] as? String ?? ""
            #expect(ref["name"] as? String == secretName, "\(entry)")
            if expected.existingSecret == nil, ref["optional"] as? Bool != true {
                #expect(secretData[key] != nil, "the Secret has no key \(key)")
            }
            fromSecret[entry["name"] as? String ?? ""] = secretData[key]
        }
        #expect(env.contains { $0["name"] as? String == "AWS_ACCESS_KEY_ID" } == expected.s3)

        // Volumes: every mount has a volume; the ConfigMap and the claim are the rendered ones.
        let volumes = pod["volumes"] as? [[String: Any]] ?? []
        let mounts = archiver["volumeMounts"] as? [[String: Any]] ?? []
        for mount in mounts {
            #expect(volumes.contains { $0["name"] as? String == mount["name"] as? String }, "\(mount)")
        }
        let configVolume = volumes.first { $0["configMap"] != nil }
        #expect((configVolume?["configMap"] as? [String: Any])?["name"] as? String == name(first("ConfigMap")))
        let claim = volumes.compactMap { ($0["persistentVolumeClaim"] as? [String: Any])?["claimName"] as? String }
        #expect(claim == (expected.pvc ? [name(first("PersistentVolumeClaim"))].compactMap { $0 } : []))
        let configMount = try #require(mounts.first { $0["name"] as? String == configVolume?["name"] as? String })
        let configPath = try #require(
            (env.first { $0["name"] as? String == "ARCHIVER_CONFIG" })?["value"] as? String)
        #expect(configPath == (configMount["mountPath"] as? String ?? "") + "/archiver.yaml")
        let dataMount = try #require(mounts.first { $0["name"] as? String == "data" }?["mountPath"] as? String)

        // The binary checks the ConfigMap's archiver.yaml with the container's flags and the Secret's values.
        let configMap = try #require(first("ConfigMap"))
        let yaml = try #require((configMap["data"] as? [String: String])?["archiver.yaml"])
        let grace = pod["terminationGracePeriodSeconds"] as? Int ?? 30
        try await withTemporaryDirectory { dir in
            try yaml.write(toFile: dir + "/archiver.yaml", atomically: true, encoding: .utf8)
            var environment = fromSecret.filter { $0.key.hasPrefix("ARCHIVER_") }
            environment["ARCHIVER_HOLDER"] = "bank-0"
            if expected.existingSecret != nil { environment["ARCHIVER_TOKENS"] = DeployFilesTests.tokenEntry }
            let checked = try await CLI.run(["config", "check"] + args.dropFirst(), in: dir, environment: environment)
            #expect(checked.status == 0, "\(checked.stderr)")
            let lines = checked.stdout.split(separator: "\n").map(String.init)
            for line in expected.effective {
                #expect(lines.contains { $0.hasPrefix(line) }, "missing \(line) in \(checked.stdout)")
            }
            func value(_ key: String) -> String? {
                lines.first { $0.hasPrefix(key + ": ") }.map {
                    String($0.dropFirst(key.count + 2).split(separator: " ")[0])
                }
            }
            #expect(value("port") == String(expected.port))
            let store = value("store") ?? ""
            if store.hasPrefix("sqlite:") { #expect(store.hasPrefix("sqlite:" + dataMount + "/"), "\(store)") }
            let archive = value("archive") ?? ""
            #expect(expected.s3 ? archive.hasPrefix("s3://") : archive.hasPrefix(dataMount + "/"), "\(archive)")
            let deadline = value("shutdown-deadline").flatMap(Double.init) ?? 0
            #expect(deadline > 0 && Double(grace) > deadline, "terminationGracePeriodSeconds must exceed it")
        }
    }

    @Test func defaultsWithTokensRenderASidecarOnAVolume() async throws {
        let rendered = try await Self.render("--set archiver.tokens='\(DeployFilesTests.tokenEntry)'")
        #expect(rendered.status == 0, "\(rendered.err)")
        try await Self.check(
            rendered.documents,
            Expected(
                app: true, secret: "bank-archiver", existingSecret: nil, pvc: true, s3: false, port: 8080,
                effective: [
                    "store: sqlite:/var/lib/archiver/data/archiver.db  # file", "host: 0.0.0.0  # file",
                    "tokens:  # environment ARCHIVER_TOKENS", "port: 8080  # flag --port",
                ]))
    }

    @Test func s3WithAnExistingSecretRendersTheArchiverAlone() async throws {
        try await withTemporaryDirectory { dir in
            try """
            app:
              enabled: false
            archiver:
              port: 9090
              existingSecret: archiver-credentials
              extraArgs: ["--log-level", "debug", "--flush-interval", "2"]
              config:
                lease-ttl: 20
                ready-max-lag-events: 2000000
            s3:
              enabled: true
              url: s3://events/bank
              endpoint: http://minio.storage:9000
              pathStyle: true
              uploadConcurrency: 8
              partSize: 16MiB
            persistence:
              enabled: false
            service:
              port: 80
            """.write(toFile: dir + "/s3.yaml", atomically: true, encoding: .utf8)
            let rendered = try await Self.render("-f '\(dir)/s3.yaml'")
            #expect(rendered.status == 0, "\(rendered.err)")
            try await Self.check(
                rendered.documents,
                Expected(
                    app: false, secret: nil, existingSecret: "archiver-credentials", pvc: false, s3: true, port: 9090,
                    effective: [
                        "archive: s3://events/bank  # file", "s3-endpoint: http://minio.storage:9000  # file",
                        "s3-path-style: true  # file", "s3-upload-concurrency: 8  # file",
                        "s3-part-size: 16MiB  # file",
                        "log-level: debug  # flag --log-level", "flush-interval: 2  # flag --flush-interval",
                        "lease-ttl: 20  # file", "ready-max-lag-events: 2000000  # file",
                    ]))
        }
    }

    /// SQLite on the data volume: Recreate (an RWO volume cannot attach to the new pod while the old one runs),
    /// and more than one replica is refused; with a PostgreSQL store two replicas render.
    @Test func sqliteMeansRecreateAndOneReplica() async throws {
        let token = "--set archiver.tokens='\(DeployFilesTests.tokenEntry)'"
        let single = try await Self.render(token)
        let deployment = try #require(single.documents.first { $0["kind"] as? String == "Deployment" })
        let strategy = (deployment["spec"] as? [String: Any])?["strategy"] as? [String: Any]
        #expect(strategy?["type"] as? String == "Recreate")
        let two = try await Self.render(token + " --set replicaCount=2")
        #expect(two.status != 0 && two.err.contains("replicaCount > 1 needs a PostgreSQL store"), "\(two.err)")
        let postgres = try await Self.render(
            token
                + " --set replicaCount=2 --set archiver.store=postgres://app@db:5432/events --set persistence.enabled=false"
        )
        #expect(postgres.status == 0, "\(postgres.err)")
        let replicated = try #require(postgres.documents.first { $0["kind"] as? String == "Deployment" })
        #expect((replicated["spec"] as? [String: Any])?["replicas"] as? Int == 2)
    }

    @Test func requiredValuesAndUnknownConstructsFailLoudly() async throws {
        let defaults = try await Self.render("")
        #expect(defaults.status != 0 && defaults.err.contains("archiver.tokens is required"), "\(defaults.err)")
        let s3 = try await Self.render("--set archiver.tokens=x --set s3.enabled=true")
        #expect(s3.status != 0 && s3.err.contains("s3.url (s3://BUCKET/PREFIX) is required"), "\(s3.err)")

        // A chart straying from the renderer's subset is refused, never rendered half-right.
        let cases = [
            ("{{ .Values.name | upper }}", "unknown function 'upper'"),
            ("{{ .Values.nmae }}", ".nmae is not set"),
            ("{{ with .Values.name }}x{{ end }}", "'with' is not supported"),
            ("{{ if .Values.name }}a{{ else if .Values.name }}b{{ end }}", "'else if .Values.name' is not supported"),
            ("{{ printf \"%s\" .Values.name }}", "unknown function 'printf'"),
            ("{{ if .Values.name }}open", "without end"),
            ("{{ .Values.name | default (.Values.name) }}", "parentheses are not supported"),
        ]
        for (template, message) in cases {
            try await withTemporaryDirectory { dir in
                try FileManager.default.createDirectory(atPath: dir + "/c/templates", withIntermediateDirectories: true)
                try "name: c\nversion: 0.1.0\n".write(toFile: dir + "/c/Chart.yaml", atomically: true, encoding: .utf8)
                try "name: x\n".write(toFile: dir + "/c/values.yaml", atomically: true, encoding: .utf8)
                try "a: \(template)\n".write(toFile: dir + "/c/templates/t.yaml", atomically: true, encoding: .utf8)
                let result = try await shell(
                    "python3 '\(DeployFilesTests.root)/scripts/helm-template.py' c", in: dir)
                #expect(result.status != 0 && result.err.contains(message), "\(template): \(result.err)")
            }
        }
    }
}
