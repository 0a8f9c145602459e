import ArchiverConfiguration
import ArchiverCore
import ArchiverServer
import ArgumentParser
import Coordination
import Foundation
import LodeS3

struct CompactCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "compact",
        abstract: "Rewrite many small snapshots into few large ones in a new generation; retire what it replaces.",
        discussion: """
            Copies the records of the snapshots up to the cut, byte for byte, into a new generation dataset \
            (events-gen<N>) of snapshots of about --target-size each, re-reads and verifies it against the \
            original manifests (every object's MD5, every record's hash, the chain at every boundary), and only \
            then makes it the one readers use. The original manifests (cut points, signatures, anchors, export \
            proofs) never change; their data files stay until `--retire`. A never-activated generation left by an \
            interrupted run is removed by the next one.

            --retire deletes the data files the active generation supersedes, only after a full `archiver verify` \
            succeeds, and never an object younger than --retention or the S3 Object Lock retention.

            Exit status: 0 done; 1 --retire refused (the archive does not verify, or no generation is active: \
            nothing deleted); 3 another compaction holds the lease; 4 unknown cut; 10 the new generation does not \
            verify (it is not activated).

            Examples:
              archiver compact
              archiver compact --before month-end-2026-10 --target-size 512MiB
              archiver compact --dry-run
              archiver compact --zstd-level 19
              archiver compact --retire --retention 30d
            """)

    @OptionGroup var storeOptions: StoreOptions
    @OptionGroup var archiveOptions: ArchiveOptions
    @OptionGroup var signing: SigningOptions

    @Option(
        help: ArgumentHelp(
            "Compact the snapshots up to this cut point (name, snapshot id, position or time; default latest).",
            valueName: "cut"))
    var before: String = "latest"

    @OptionGroup var generation: GenerationArguments

    @Flag(help: "Delete the data files the active generation supersedes (after a full verification).")
    var retire = false

    @Option(
        help: ArgumentHelp(
            "With --retire: keep objects younger than this age, e.g. 30d (default 0d; the S3 Object Lock days "
                + "count too). Also ARCHIVER_COMPACT_RETENTION.", valueName: "age"))
    var retention: String?

    func run() async throws {
        try await CLIErrors.reporting {
            var options = try generation.options()
            options.before = CutSelector(parsing: before)
            try await storeOptions.withStore { store in
                var archive = try await ArchiveOpener.open(archiveOptions)
                try signing.apply(to: &archive)
                let compactor = Compactor(archive: archive, store: store)
                if retire {
                    try await runRetire(compactor, options: options, objectLock: archive.store as? S3Store)
                } else {
                    try await generation.compact(compactor, options: options)
                }
            }
        }
    }

    private func runRetire(_ compactor: Compactor, options: CompactionOptions, objectLock s3: S3Store?) async throws {
        let age = retention ?? CLIConfig.value("compact-retention") ?? "0d"
        guard var seconds = PruneCommand.seconds(age) else {
            throw ValidationError("--retention '\(age)' is not an age like 30d or 12h")
        }
        if let lock = s3?.configuration.objectLock { seconds = max(seconds, Double(lock.days) * 86_400) }
        let s = try await compactor.retire(options, retentionSeconds: seconds)
        print(
            "\(generation.dryRun ? "would retire" : "retired") \(s.deleted) superseded data object(s) "
                + "(\(ByteSize.format(s.deletedBytes))) after verifying \(s.verifiedEvents) events through generation "
                + "\(s.generation)"
                + (s.keptYoung > 0 ? "; kept \(s.keptYoung) younger than the retention (\(age))" : ""))
    }
}

/// The options of a command that writes a compaction generation (`compact`, `format upgrade`), and its report.
struct GenerationArguments: ParsableArguments {
    @Option(
        help: ArgumentHelp(
            "Uncompressed record bytes per generation snapshot (default 256MiB). Also ARCHIVER_COMPACT_TARGET_SIZE.",
            valueName: "size"))
    var targetSize: String?

    @Option(name: .customLong("zstd-level"), help: ConfigKeys.compactZstdLevel.help(valueName: "level"))
    var compactZstdLevel: Int?

    @Flag(help: "Say what would be done; write and delete nothing.")
    var dryRun = false

    @Flag(help: "Print nothing but the summary and errors.")
    var quiet = false

    func options() throws -> CompactionOptions {
        var options = CompactionOptions(producer: ArchiverVersion.producer)
        options.dryRun = dryRun
        let size = targetSize ?? CLIConfig.value("compact-target-size") ?? "256MiB"
        guard let bytes = ByteSize.parse(size), bytes >= 1024 else {
            throw ValidationError("--target-size '\(size)' is not a size such as 256MiB, 64MiB or 1000000")
        }
        options.targetBytes = Int64(bytes)
        let level = try CLIConfig.value(ConfigKeys.compactZstdLevel, flag: compactZstdLevel.map(String.init))
        options.zstdLevel = level.map(Int32.init)
        return options
    }

    /// Writes and activates the generation, with progress, and prints what it did.
    func compact(_ compactor: Compactor, options: CompactionOptions) async throws {
        let reporter = ProgressReporter(label: "compact", quiet: quiet)
        let s = try await compactor.run(options) { p in
            reporter.update(done: p.events, total: 0, seconds: p.seconds)
        }
        reporter.finish()
        for removed in s.removedPartial {
            print(
                "\(dryRun ? "would remove" : "removed") \(removed): a generation never activated (interrupted compaction)"
            )
        }
        if let note = s.note {
            print(note)
            return
        }
        let before =
            "\(s.snapshots) snapshots (sequences 1…\(s.throughSequence), through \(s.throughSnapshotID)): "
            + "\(s.filesBefore) files, \(ByteSize.format(s.storedBytesBefore))"
        let format = options.format.map { " in record format \($0)" } ?? ""
        if dryRun {
            print("would compact \(before) into \(s.datasetID ?? "?")\(format) (\(s.events) events)")
            return
        }
        print(
            "compacted \(before) into \(s.datasetID ?? "?")\(format): \(s.runs) snapshots, \(s.filesAfter) files, "
                + "\(ByteSize.format(s.storedBytesAfter)) (\(s.events) events, \(ByteSize.format(s.recordBytes)) of "
                + "records); verified and active in \(String(format: "%.2f", s.seconds))s")
    }
}
