import ArchiveFormat
import ArchiverCore
import ArchiverServer
import ArgumentParser
import Coordination
import Foundation

struct PruneCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "prune",
        abstract: "Delete hot events that are archived and verified, to keep the coordination store small.",
        discussion: """
            Events up to the cut point are deleted from the coordination store only after that part of the \
            archive is re-read and verified (checksums, hash chain, manifest chain), and never below a \
            subscriber checkpoint, and only when a passing `archiver drill` covering the prune point is younger \
            than --drill-max-age (--without-drill overrides, with a warning). Stream heads, expected versions and \
            idempotency keys keep working; reading a pruned range says to read it from the archive.

            Examples:
              archiver prune --before month-end-2026-10
              archiver prune --keep 30d          # everything archived more than 30 days ago
            """)

    @OptionGroup var storeOptions: StoreOptions
    @OptionGroup var archiveOptions: ArchiveOptions
    /// With trusted keys, only a drill attestation signed by one of them allows the prune.
    @OptionGroup var signing: SigningOptions

    @Option(
        help: ArgumentHelp("Prune events up to this cut point (name, snapshot id, position or time).", valueName: "cut")
    )
    var before: String?

    @Option(help: ArgumentHelp("Keep this much recent history hot, e.g. 30d, 12h (retention).", valueName: "age"))
    var keep: String?

    @Option(help: ArgumentHelp("Also delete idempotency keys older than this (default 30d).", valueName: "age"))
    var idempotencyRetention: String = "30d"

    @Option(
        help: ArgumentHelp(
            "A passing drill covering the prune point must be younger than this.", valueName: "age"))
    var drillMaxAge: String = "7d"

    @Flag(help: "Prune without a covering drill (a warning is printed).")
    var withoutDrill = false

    func run() async throws {
        try await CLIErrors.reporting {
            guard let drillAge = Self.seconds(drillMaxAge) else {
                throw ValidationError("--drill-max-age '\(drillMaxAge)' is not an age like 7d or 12h")
            }
            if withoutDrill {
                FileHandle.standardError.write(
                    Data("warning: pruning without a covering restore drill (--without-drill)\n".utf8))
            }
            guard (before == nil) != (keep == nil) else {
                throw ValidationError("pass exactly one of --before CUT or --keep AGE")
            }
            guard let retention = Self.seconds(idempotencyRetention) else {
                throw ValidationError("--idempotency-retention '\(idempotencyRetention)' is not an age like 30d or 12h")
            }
            let selector: CutSelector
            if let before {
                selector = CutSelector(parsing: before)
            } else {
                guard let age = Self.seconds(keep!) else {
                    throw ValidationError("--keep '\(keep!)' is not an age like 30d or 12h")
                }
                selector = .time(Int64((Date().timeIntervalSince1970 - age) * 1e9))
            }
            try await storeOptions.withStore { store in
                var archive = try await ArchiveOpener.open(archiveOptions)
                try signing.apply(to: &archive)
                let s = try await Pruner(archive: archive, store: store).run(
                    before: selector, idempotencyRetentionSeconds: retention,
                    drillGuard: withoutDrill ? nil : PruneGuard(maxAgeSeconds: drillAge))
                print(
                    "pruned \(s.deleted) hot events through position \(s.prunedThrough) after verifying "
                        + "\(s.verifiedEvents) archived events; \(s.idempotencyKeysDeleted) expired idempotency key(s) removed"
                )
            }
        }
    }

    /// `30d`, `12h`, `15m`, `90s` → seconds.
    static func seconds(_ text: String) -> Double? {
        Age.seconds(text)
    }
}

struct RestoreCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "restore",
        abstract: "Rebuild an empty coordination store from the archive, up to a cut point.",
        discussion: """
            The archive is verified while it is read (checksums and hash chain). Events keep their positions, \
            stream versions, ids and times; stream heads and the flush cursor are set so the restored store \
            continues the same archive.

            Example:
              archiver restore --to latest --into sqlite:restored.db
            """)

    @OptionGroup var archiveOptions: ArchiveOptions

    @Option(help: ArgumentHelp("Cut point: name, snapshot id, or latest.", valueName: "cut"))
    var to: String = "latest"

    @Option(help: ArgumentHelp("The store to fill: sqlite:PATH or a path.", valueName: "store"))
    var into: String

    @Flag(help: "Restore into a store that already holds events.")
    var force = false

    func run() async throws {
        try await CLIErrors.reporting {
            let archive = try await ArchiveOpener.open(archiveOptions)
            let plan = try await archive.plan(to: CutSelector(parsing: to))
            for note in plan.planning.notes { FileHandle.standardError.write(Data("note: \(note)\n".utf8)) }
            let targetOptions = try StoreOptions.parse(["--store", into])
            try await targetOptions.withStore(create: true) { target in
                try await target.migrate()
                let reporter = ProgressReporter(label: "restore", quiet: false)
                let s = try await Restorer(archive: archive, target: target).run(plan: plan, allowNonEmpty: force) {
                    reporter.update(done: $0, total: plan.lastPosition, seconds: $1)
                }
                reporter.finish()
                print(
                    "restored \(s.events) events of \(s.streams) streams through position \(s.lastPosition) "
                        + "(snapshot \(s.snapshotID)) into \(into) in \(String(format: "%.2f", s.seconds))s; hash chain verified"
                )
            }
        }
    }
}
