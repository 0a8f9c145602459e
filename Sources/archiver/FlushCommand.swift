import ArchiveFormat
import ArchiverCore
import ArchiverServer
import ArgumentParser
import Coordination
import Foundation
import Lode

/// Options that decide how a new archive is written (an existing archive keeps its own).
struct ArchiveLayoutOptions: ParsableArguments {
    @Option(
        name: .customLong("compression"),
        help: ArgumentHelp(
            "Segment compression: zstd[:LEVEL], gzip[:LEVEL] or none (default zstd:1).", valueName: "codec"))
    var compressionFlag: String?

    @Option(
        name: .customLong("partitioning"),
        help: ArgumentHelp("Hive partitioning: category-day (default), day or none.", valueName: "scheme"))
    var partitioningFlag: String?

    @Option(
        name: .customLong("archive-format"),
        help: ArgumentHelp(
            "Record format of a new archive: 2 (default; records without their chain hash) or 1.",
            valueName: "version"))
    var archiveFormatFlag: String?

    @Option(
        name: .customLong("target-size"),
        help: ArgumentHelp(
            "Uncompressed bytes per snapshot before a new one starts (default 64MiB).", valueName: "size"))
    var targetSizeFlag: String?

    var compression: String { compressionFlag ?? CLIConfig.value("compression") ?? "zstd:1" }
    var partitioning: String {
        partitioningFlag ?? CLIConfig.value("partitioning") ?? ArchivePartitioning.categoryDay.rawValue
    }
    var targetSize: String { targetSizeFlag ?? CLIConfig.value("target-size") ?? "64MiB" }
    var archiveFormat: String {
        archiveFormatFlag ?? CLIConfig.value("archive-format") ?? RecordFormat.newArchiveDefault.rawValue
    }

    func settings() throws -> ArchiveSettings {
        var settings = ArchiveSettings()
        guard let compression = ArchiveCompression(parsing: compression) else {
            throw ValidationError("--compression '\(compression)' is not zstd[:LEVEL], gzip[:LEVEL] or none")
        }
        settings.compression = compression
        guard let partitioning = ArchivePartitioning(rawValue: partitioning) else {
            throw ValidationError("--partitioning '\(partitioning)' is not category-day, day or none")
        }
        settings.partitioning = partitioning
        guard let format = RecordFormat(parsing: archiveFormat) else {
            throw ValidationError("--archive-format '\(archiveFormat)' is not 1 or 2")
        }
        settings.recordFormat = format
        guard let size = ByteSize.parse(targetSize), size >= 1024 else {
            throw ValidationError("--target-size '\(targetSize)' is not a size such as 64MiB, 512KiB or 1000000")
        }
        settings.targetSnapshotBytes = size
        return settings
    }
}

/// The options of a flush, shared by `archiver flush` and `archiver cut create`.
struct FlushArguments: ParsableArguments {
    @OptionGroup var storeOptions: StoreOptions
    @OptionGroup var archiveOptions: ArchiveOptions
    @OptionGroup var layout: ArchiveLayoutOptions
    @OptionGroup var signing: SigningOptions
    @OptionGroup var subjects: SubjectOptions

    @Flag(help: "Print nothing but errors.")
    var quiet = false

    @Option(
        help: ArgumentHelp(
            "Write a catalog checkpoint every N snapshots (default 1000; 0: never). Also ARCHIVER_CHECKPOINT_EVERY.",
            valueName: "n"))
    var checkpointEvery: Int?

    /// `--checkpoint-every`, else `ARCHIVER_CHECKPOINT_EVERY`, else 1000.
    func checkpointInterval() throws -> Int {
        if let checkpointEvery {
            guard checkpointEvery >= 0 else { throw ValidationError("--checkpoint-every must be 0 or more") }
            return checkpointEvery
        }
        guard let text = CLIConfig.value("checkpoint-every"), !text.isEmpty else {
            return ArchiveCatalog.defaultCheckpointInterval
        }
        guard let value = Int(text), value >= 0 else {
            throw ValidationError("ARCHIVER_CHECKPOINT_EVERY='\(text)' is not a number of snapshots (0 or more)")
        }
        return value
    }

    /// Runs one flush pass and returns its summary.
    func flushOnce(store: any CoordinationStore, archive: Archive, cutName: String?) async throws -> FlushSummary {
        var options = FlushOptions(cutName: cutName, producer: ArchiverVersion.producer)
        options.subjectField = try subjects.field()
        options.checkpointEvery = try checkpointInterval()
        let flusher = Flusher(store: store, archive: archive, options: options)
        let reporter = ProgressReporter(label: "flush", quiet: quiet)
        let summary = try await flusher.run { progress in
            reporter.update(done: progress.events, total: progress.backlog, seconds: progress.seconds)
        }
        reporter.finish()
        for note in summary.notes { FileHandle.standardError.write(Data("note: \(note)\n".utf8)) }
        return summary
    }

    func openArchive() async throws -> Archive {
        var archive = try await ArchiveOpener.open(archiveOptions, create: true, preferred: try layout.settings())
        try signing.apply(to: &archive)
        return archive
    }

    static func describe(_ s: FlushSummary) -> String {
        guard s.events > 0 else {
            return s.heldBack > 0
                ? "nothing flushed: \(s.heldBackReason)"
                : "nothing to flush: the archive is up to date (position \(s.lastPosition))"
        }
        let rate = s.seconds > 0 ? Int(Double(s.events) / s.seconds) : 0
        var line =
            "flushed \(s.events) events in \(s.snapshotIDs.count) snapshot(s), \(s.files) segment(s): "
            + "\(ByteSize.format(s.bytesIn)) -> \(ByteSize.format(s.bytesOut)) (\(String(format: "%.1f", s.ratio))x) "
            + "in \(String(format: "%.2f", s.seconds))s (\(rate) events/s); cut point \(s.snapshotIDs.last!) "
            + "at position \(s.lastPosition)"
        if let name = s.cutName { line += " named '\(name)'" }
        if s.resumedIntent { line += "; completed an interrupted flush first" }
        if let checkpoint = s.checkpoints.last { line += "; catalog checkpoint \(checkpoint)" }
        return line
    }
}

struct FlushCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "flush",
        abstract: "Move committed events from the coordination store into the archive.",
        discussion: """
            One pass archives every event up to the store's safe high-water mark as Lode snapshots (one per \
            64 MiB of records by default); each snapshot is a cut point. A pass that was killed is completed \
            by the next one: nothing is lost or archived twice. Only one flusher works at a time (a lease).

            Examples:
              archiver flush
              archiver flush --cut month-end-2026-11
              archiver flush --watch --interval 5
            """)

    @OptionGroup var arguments: FlushArguments

    @Option(help: ArgumentHelp("Name the resulting snapshot as a cut point.", valueName: "name"))
    var cut: String?

    @Flag(help: "Keep flushing: wake on new events (or every --interval seconds) until interrupted.")
    var watch = false

    @Option(help: ArgumentHelp("With --watch: the longest wait between passes, in seconds.", valueName: "seconds"))
    var interval: Double = 5

    @Option(help: ArgumentHelp("With --watch: wait until at least this many events are unflushed.", valueName: "n"))
    var minEvents: Int64 = 1

    func run() async throws {
        try await CLIErrors.reporting {
            try await arguments.storeOptions.withStore { store in
                let archive = try await arguments.openArchive()
                guard watch else {
                    let summary = try await arguments.flushOnce(store: store, archive: archive, cutName: cut)
                    if !arguments.quiet { print(FlushArguments.describe(summary)) }
                    return
                }
                let loop = FlushLoop(store: store, schedule: .whenEventsArrive(minEvents: minEvents, atMost: interval))
                try await loop.run {
                    let summary = try await arguments.flushOnce(store: store, archive: archive, cutName: cut)
                    if !arguments.quiet && summary.events > 0 { print(FlushArguments.describe(summary)) }
                }
            }
        }
    }
}
