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

            Exit statuses: 0 ok; 1 failure; 2 wrong expected version or idempotency conflict; 3 another \
            flusher or compactor holds the lease; 4 unknown cut point or empty archive; 10 tampered; 11 missing \
            or unreadable object; 12 missing or untrusted signature key; 64 bad usage or configuration; 65 bad \
            data (event JSON, invalid UTF-8, a projected sum that overflows): nothing was stored.
            """,
        version: ArchiverVersion.current,
        subcommands: [
            InitCommand.self, MigrateCommand.self, AppendCommand.self, ReadCommand.self, StreamsCommand.self,
            StatusCommand.self, FlushCommand.self, CutCommand.self, ReplayCommand.self, VerifyCommand.self,
            AnchorCommand.self, ExportCommand.self, VerifyBundleCommand.self, ForgetCommand.self, KeysCommand.self,
            PruneCommand.self, RestoreCommand.self, CompactCommand.self, FormatCommand.self, StatsCommand.self,
            CatalogCommand.self,
            LodeCommand.self,
            ServeCommand.self, HealthCommand.self, DrillCommand.self, UpcastCommand.self,
            TokensCommand.self, ConfigCommand.self, CompressBenchCommand.self,
        ]
    )

    /// Loads the configuration file (taking `--config` out of the arguments) before parsing, so that every
    /// command's options fall back to the same keys.
    static func main() async {
        tuneMalloc(mmapBytes: 4 << 20, trimBytes: 64 << 20)
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

/// Sets glibc's malloc thresholds (`mallopt`; malloc.h is not part of Swift's Glibc module, so the function is
/// looked up by name):
/// - `M_MMAP_THRESHOLD` = `mmapBytes`: every block of that size or more is mapped and unmapped on its own. Whole
///   stored objects of the snapshots being read are such blocks: glibc otherwise raises the threshold after the
///   first one is freed and serves them from its per-thread heaps, whose fragments kept a replay's peak RSS
///   growing with the archive (129 MB after 1M events, 184 MB after 4M; with the fixed threshold 129 MB and
///   132 MB).
/// - `M_TRIM_THRESHOLD` = `trimBytes` and `M_TOP_PAD` = 4 MiB: fixing the mmap threshold also fixes the trim
///   threshold at its 128 KiB default, so a heap's free top was handed back (`madvise`) after every page of a
///   flush and faulted in again for the next: 0.7 s of a 1M-event flush's 1.1 s of system time. Freed memory up
///   to `trimBytes` now stays for the next page; peak RSS does not change (it is the high-water mark of use).
func tuneMalloc(mmapBytes: Int32, trimBytes: Int32) {
    #if os(Linux)
    typealias Mallopt = @convention(c) (Int32, Int32) -> Int32
    guard let symbol = dlsym(nil, "mallopt") else { return }
    let mallopt = unsafeBitCast(symbol, to: Mallopt.self)
    // The parameter numbers of glibc's malloc.h.
    let (trimThreshold, topPad, mmapThreshold): (Int32, Int32, Int32) = (-1, -2, -3)
    _ = mallopt(mmapThreshold, mmapBytes)
    _ = mallopt(trimThreshold, trimBytes)
    _ = mallopt(topPad, 4 << 20)
    #endif
}
