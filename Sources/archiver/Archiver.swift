import ArgumentParser

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
            """,
        version: ArchiverVersion.current,
        subcommands: [
            InitCommand.self, MigrateCommand.self, AppendCommand.self, ReadCommand.self, StreamsCommand.self,
            StatusCommand.self, FlushCommand.self, CutCommand.self, ReplayCommand.self, VerifyCommand.self,
            AnchorCommand.self, ExportCommand.self, VerifyBundleCommand.self, ForgetCommand.self, KeysCommand.self,
            PruneCommand.self, RestoreCommand.self, CatalogCommand.self, LodeCommand.self,
            CompressBenchCommand.self,
        ]
    )
}

enum ArchiverVersion {
    static let current = "0.1.0"
    /// Written into each manifest's `archiver.producer`.
    static let producer = "lode-archiver \(current)"
}
