import ArchiverCore
import ArgumentParser
import Basics
import Foundation
import Lode

struct CatalogCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "catalog",
        abstract: "Inspect and rebuild the catalog checkpoints that let readers skip walking every manifest.",
        discussion: """
            A checkpoint (written by the flusher every --checkpoint-every snapshots) lists every snapshot up to \
            its own with positions, chain hashes, files and stream filters, in parts its manifest summarises: \
            planning a replay reads the newest checkpoint's manifest, the manifests after it and at most one \
            part, and the replay decodes the parts as it reaches them. Checkpoints are derived data: \
            `archiver catalog rebuild` writes a fresh one from the manifests, and `archiver verify` checks that \
            the newest one agrees with them.

            Examples:
              archiver catalog show
              archiver catalog rebuild
            """,
        subcommands: [Show.self, Rebuild.self, Plan.self])

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Describe the newest checkpoint.")

        @OptionGroup var archiveOptions: ArchiveOptions

        func run() async throws {
            try await CLIErrors.reporting {
                let archive = try await ArchiveOpener.open(archiveOptions)
                let catalog = try ArchiveCatalog(archive: archive)
                guard let checkpoint = try await catalog.latest() else {
                    print("no catalog checkpoint yet (the flusher writes one every 1000 snapshots by default)")
                    return
                }
                print(
                    "checkpoint \(checkpoint.snapshotID) (format \(checkpoint.format)): \(checkpoint.throughSequence) "
                        + "snapshots through "
                        + "\(checkpoint.throughSnapshotID) (position \(checkpoint.lastPosition)), "
                        + "\(checkpoint.manifest.files.count) part(s), "
                        + "\(checkpoint.manifest.files.reduce(0) { $0 + $1.sizeBytes }) bytes")
                for file in checkpoint.manifest.files { print("  \(file.path)\t\(file.sizeBytes)") }
            }
        }
    }

    struct Rebuild: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Write a fresh checkpoint through the head, from the manifests alone.")

        @OptionGroup var archiveOptions: ArchiveOptions

        func run() async throws {
            try await CLIErrors.reporting {
                let archive = try await ArchiveOpener.open(archiveOptions)
                guard let checkpoint = try await ArchiveCatalog(archive: archive).rebuild() else {
                    throw ValidationError("the archive has no snapshots yet: nothing to catalog")
                }
                print(
                    "rebuilt catalog checkpoint \(checkpoint.snapshotID): \(checkpoint.throughSequence) snapshots "
                        + "through \(checkpoint.throughSnapshotID)")
            }
        }
    }

    /// Times planning alone (for scripts/bench.py): from opening the archive until the reader has the first
    /// snapshot to read, which is when a replay starts reading segments.
    struct Plan: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract:
                "Time planning a replay (finding the cut and the first snapshot to read) without reading any data.",
            shouldDisplay: false)

        @OptionGroup var archiveOptions: ArchiveOptions
        @Option(help: ArgumentHelp("Cut point.", valueName: "cut")) var to: String = "latest"
        @Flag(help: "Walk every manifest instead of using the catalog.") var chainWalk = false

        func run() async throws {
            try await CLIErrors.reporting {
                let archive = try await ArchiveOpener.open(archiveOptions)
                let started = ContinuousClock.now
                let plan = try await archive.plan(
                    to: CutSelector(parsing: to), source: chainWalk ? .manifests : .catalog)
                // A replay starts reading segments once the plan's stream has produced its first snapshot.
                var stream = plan.stream()
                let first = try await stream.next()
                let elapsed = ContinuousClock.now - started
                stream.cancel()
                let seconds = elapsed.inSeconds
                let partsRead = plan.planning.partsRead + (await stream.partsRead)
                print(
                    #"{"seconds":\#(seconds),"snapshots":\#(plan.count),"#
                        + #""checkpoint_snapshots":\#(plan.planning.fromCheckpoint),"#
                        + #""manifests_read":\#(plan.planning.manifestsRead),"parts_read":\#(partsRead),"#
                        + #""first_snapshot":"\#(first?.snapshotID ?? "")","cut":"\#(plan.last?.snapshotID ?? "")"}"#)
                for note in plan.planning.notes + (await stream.notes) {
                    FileHandle.standardError.write(Data("note: \(note)\n".utf8))
                }
            }
        }
    }
}
