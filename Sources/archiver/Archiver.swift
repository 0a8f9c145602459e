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
        fixMmapThreshold(4 << 20)
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

/// Makes glibc map and unmap every block of `bytes` or more (`mallopt(M_MMAP_THRESHOLD, bytes)`; malloc.h is
/// not part of Swift's Glibc module, so the function is looked up by name). Whole stored objects of the
/// snapshots being read are such blocks: glibc otherwise raises the threshold after the first one is freed and
/// serves them from its per-thread heaps, whose fragments kept a replay's peak RSS growing with the archive
/// (129 MB after 1M events, 184 MB after 4M; with the fixed threshold 129 MB and 132 MB).
func fixMmapThreshold(_ bytes: Int32) {
    #if os(Linux)
    typealias Mallopt = @convention(c) (Int32, Int32) -> Int32
    let mmapThreshold: Int32 = -3  // M_MMAP_THRESHOLD in glibc's malloc.h
    guard let symbol = dlsym(nil, "mallopt") else { return }
    _ = unsafeBitCast(symbol, to: Mallopt.self)(mmapThreshold, bytes)
    #endif
}
