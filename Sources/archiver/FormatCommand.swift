import ArchiveFormat
import ArchiverCore
import ArgumentParser
import Foundation

struct FormatCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "format",
        abstract: "Move an archive to a later record format.",
        subcommands: [Upgrade.self])

    struct Upgrade: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Rewrite the archive's history in record format 2 as a compaction generation.",
            discussion: """
                An archive keeps the record format it was created in: format 1 records carry their 64-hex chain \
                hash, format 2 records do not (about a third smaller; docs/FORMAT.md). This writes every \
                committed snapshot's records in format 2 into a new generation (events-gen<N>), checks it \
                against the original manifests as `archiver compact` does, and activates it; from then on new \
                snapshots are written in format 2 as well. The chain, records roots, cut points, signatures, \
                anchors and export proofs stay valid: both formats chain the same bytes, and the original \
                manifests never change. The format 1 data files stay until `archiver compact --retire`.

                Exit status: 0 done (or the archive is already in format 2); 3 another compaction holds the \
                lease; 4 empty archive; 10 the new generation does not verify (it is not activated).

                Examples:
                  archiver format upgrade --dry-run
                  archiver format upgrade
                  archiver compact --retire --retention 30d
                """)

        @OptionGroup var storeOptions: StoreOptions
        @OptionGroup var archiveOptions: ArchiveOptions
        @OptionGroup var signing: SigningOptions
        @OptionGroup var generation: GenerationArguments

        func run() async throws {
            try await CLIErrors.reporting {
                var options = try generation.options()
                options.format = .v2
                try await storeOptions.withStore { store in
                    var archive = try await ArchiveOpener.open(archiveOptions)
                    try signing.apply(to: &archive)
                    try await generation.compact(Compactor(archive: archive, store: store), options: options)
                }
            }
        }
    }
}
