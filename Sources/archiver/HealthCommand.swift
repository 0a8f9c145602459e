import ArchiverConfiguration
import ArchiverServer
import ArgumentParser
import Foundation

/// `archiver health`: exits 0 when a running `archiver serve` answers `GET /ready` with 200.
///
/// Health checks run it instead of curl or a shell's `/dev/tcp` (which dash, the image's `sh`, does not have).
struct HealthCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "health",
        abstract: "Probe a running `archiver serve`: exit 0 when GET /ready says ready, 1 when not.",
        discussion: """
            Connects to the address `serve` listens on, read from the same configuration (--config, \
            ARCHIVER_HOST/ARCHIVER_PORT, archiver.yaml; a wildcard host is probed on loopback), so a health \
            check needs no curl and no shell. Prints `ready`, or one line saying why not (the failing /ready \
            checks, or that nothing answers). Exit status 0: ready; 1: not ready or not reachable.

            Examples:
              archiver health
              archiver health --config /etc/archiver/archiver.yaml
              archiver health --port 9090 --quiet
              archiver health --wait 30          # until ready, e.g. after starting serve
            """)

    @Option(help: ArgumentHelp("Address of the sidecar (default: the `host` key, 127.0.0.1).", valueName: "host"))
    var host: String?

    @Option(help: ArgumentHelp("Port of the sidecar (default: the `port` key, 8080).", valueName: "port"))
    var port: String?

    @Option(help: ArgumentHelp("Seconds to wait for the answer.", valueName: "s"))
    var timeout: Int = 5

    @Option(
        help: ArgumentHelp(
            "Ask again every 0.5 s until ready, for at most this many seconds (default 0: once).", valueName: "s"))
    var wait: Double = 0

    @Flag(help: "Print nothing; only the exit status tells.")
    var quiet = false

    func run() async throws {
        try await CLIErrors.reporting {
            let host = CLIConfig.text(ConfigKeys.host, flag: host)
            let port = try CLIConfig.value(ConfigKeys.port, flag: port)
            guard port > 0 else {
                throw ValidationError(
                    "port 0 picks a free port at each start; pass --port with the port `serve` printed")
            }
            let probe = ReadinessProbe(host: host, port: port, timeoutSeconds: max(1, timeout))
            let deadline = ContinuousClock.now + .milliseconds(Int64(max(0, wait) * 1_000))
            var verdict = Self.ask(probe)
            while verdict != nil && ContinuousClock.now < deadline {
                try await Task.sleep(for: .milliseconds(500))
                verdict = Self.ask(probe)
            }
            guard let verdict else {
                if !quiet { print("ready") }
                return
            }
            if !quiet { FileHandle.standardError.write(Data((verdict + "\n").utf8)) }
            throw ExitCode(1)
        }
    }

    /// nil when ready, else the line saying why not.
    static func ask(_ probe: ReadinessProbe) -> String? {
        do {
            let answer = try probe.check()
            return answer.ready ? nil : "not ready (HTTP \(answer.status)): \(answer.body)"
        } catch {
            return "not reachable: \(error) (is archiver serve running there?)"
        }
    }
}
