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
            """)

    @Option(help: ArgumentHelp("Address of the sidecar (default: the `host` key, 127.0.0.1).", valueName: "host"))
    var host: String?

    @Option(help: ArgumentHelp("Port of the sidecar (default: the `port` key, 8080).", valueName: "port"))
    var port: String?

    @Option(help: ArgumentHelp("Seconds to wait for the answer.", valueName: "s"))
    var timeout: Int = 5

    @Flag(help: "Print nothing; only the exit status tells.")
    var quiet = false

    func run() async throws {
        try await CLIErrors.reporting {
            let host = CLIConfig.text(ConfigKeys.host, flag: host)
            let port = try CLIConfig.value(ConfigKeys.port, flag: port)
            guard port > 0 else {
                throw ValidationError("port 0 picks a free port at each start; pass --port with the port `serve` printed")
            }
            let answer: ReadinessProbe.Answer
            do {
                answer = try ReadinessProbe(host: host, port: port, timeoutSeconds: max(1, timeout)).check()
            } catch let failure as ReadinessProbe.Failure {
                if !quiet { FileHandle.standardError.write(Data("not reachable: \(failure) (is archiver serve running there?)\n".utf8)) }
                throw ExitCode(1)
            }
            if answer.ready {
                if !quiet { print("ready") }
                return
            }
            if !quiet { FileHandle.standardError.write(Data("not ready (HTTP \(answer.status)): \(answer.body)\n".utf8)) }
            throw ExitCode(1)
        }
    }
}
