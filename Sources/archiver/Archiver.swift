import ArchiverServer
import ArgumentParser
import Foundation

@main
struct Archiver: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "archiver",
        abstract: "Cold storage for event-sourced systems: append, flush to a Lode archive, replay, verify.",
        discussion: """
            The coordination store (SQLite ./archiver.db by default) takes appends with expected versions and \
            idempotency keys; `flush` moves committed events into an immutable, hash-chained archive of Lode \
            snapshots (./archive by default); `replay` re-projects aggregates from it to any cut point; \
            `verify` proves nothing was lost or altered.

            A first session:
              archiver init
              archiver append --stream account-42 --type Opened --data '{"owner":"Ada"}'
              archiver flush --cut first
              archiver replay --to first
              archiver verify

            Every option that names a configuration key (--store, --archive, --schema, --port, …) can also be \
            set as ARCHIVER_<KEY> in the environment or as `key: value` in archiver.yaml (--config FILE or \
            ARCHIVER_CONFIG; ./archiver.yaml when present). Precedence: flags > environment > file > defaults; \
            `archiver config check` prints the result.
            """,
        version: ArchiverVersion.current,
        subcommands: [
            InitCommand.self, MigrateCommand.self, AppendCommand.self, ReadCommand.self, StreamsCommand.self,
            StatusCommand.self, FlushCommand.self, CutCommand.self, ReplayCommand.self, VerifyCommand.self,
            AnchorCommand.self, ExportCommand.self, VerifyBundleCommand.self, ForgetCommand.self, KeysCommand.self,
            PruneCommand.self, RestoreCommand.self, CompactCommand.self, CatalogCommand.self, LodeCommand.self,
            ServeCommand.self,
            TokensCommand.self, ConfigCommand.self, CompressBenchCommand.self,
        ]
    )

    /// Loads the configuration file (taking `--config` out of the arguments) before parsing, so that every
    /// command's options fall back to the same keys.
    static func main() async {
        var arguments = Array(CommandLine.arguments.dropFirst())
        do {
            try CLIConfig.load(arguments: &arguments)
        } catch {
            FileHandle.standardError.write(Data("error: \(error)\n".utf8))
            Foundation.exit(64)
        }
        do {
            var command = try parseAsRoot(arguments)
            if var asyncCommand = command as? any AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
        } catch {
            exit(withError: error)
        }
    }
}

enum ArchiverVersion {
    static let current = "0.1.0"
    /// Written into each manifest's `archiver.producer`.
    static let producer = "lode-archiver \(current)"
}
