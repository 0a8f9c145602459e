import ArchiveFormat
import ArchiverCore
import ArgumentParser
import Basics
import Coordination
import CoordinationPostgres
import CoordinationSQLite
import Foundation
import Lode

struct ReplayCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "replay",
        abstract: "Re-project aggregates from the archive up to a cut point.",
        discussion: """
            --to takes a cut point name, a snapshot id, a global position, an RFC 3339 time or `latest`. \
            Events are applied in global position order; every object is checked against its manifest \
            checksum first, and --verify-chain also recomputes each event's hash.

            Projections:
              fold (default)   per stream: JSON merge patch (RFC 7386) of every event's data,
                               with version and last position
              sum:FIELD        per stream: event count and the sum of data.FIELD
              --exec CMD       any program: events as JSON lines on stdin, output lines on stdout
                               (protocol in docs/REPLAY.md)

            Examples:
              archiver replay --to latest
              archiver replay --to month-end-2026-11 --category account --output balances.jsonl
              archiver replay --to 2026-11-30T23:59:59Z --stream account-42
              archiver replay --to latest --exec 'python3 project.py'
              archiver replay --shard 2/8 --output part-2.jsonl   # one of 8 workers

            --shard I/N keeps the streams whose FNV-1a 64 hash of the name, modulo N, is I (0-based): \
            N workers with I = 0…N-1 together produce the rows of one full replay (docs/REPLAY.md).
            """)

    @OptionGroup var archiveOptions: ArchiveOptions
    /// Where subject keys come from, to read events archived encrypted (crypto-shredding).
    @OptionGroup var storeOptions: StoreOptions

    @Option(help: ArgumentHelp("Cut point: name, snapshot id, position, RFC 3339 time, or latest.", valueName: "cut"))
    var to: String = "latest"

    @OptionGroup var selection: EventSelectionOptions
    @OptionGroup var upcast: UpcastOptions

    @Option(
        help: ArgumentHelp(
            "Only the streams of shard I of N (0-based; FNV-1a 64 of the stream name mod N).", valueName: "I/N"))
    var shard: String?

    @Option(help: ArgumentHelp("Built-in projection: fold or sum:FIELD.", valueName: "projection"))
    var projection: String = "fold"

    @Option(help: ArgumentHelp("Run this command as the projector (via /bin/sh -c).", valueName: "command"))
    var exec: String?

    @Option(help: ArgumentHelp("Write the projected rows to this file instead of stdout.", valueName: "file"))
    var output: String?

    @Option(
        help: ArgumentHelp(
            "Write the rows into a database table instead (sqlite:PATH or postgres://…), replacing its contents in one transaction.",
            valueName: "store"))
    var into: String?

    @Option(help: ArgumentHelp("With --into: the table name.", valueName: "name"))
    var table: String = "projection"

    @Flag(help: "Also recompute every event's hash chain while replaying.")
    var verifyChain = false

    @Flag(help: "Save the projected state at the cut as an aggregate snapshot, so later replays start from it.")
    var saveSnapshot = false

    @Flag(help: "Ignore aggregate snapshots: replay every event from the start.")
    var fromScratch = false

    @Flag(help: "Print nothing but the rows and errors.")
    var quiet = false

    @Option(
        help: ArgumentHelp(
            "Snapshots fetched, checked and decompressed ahead of the one being applied, 1 to 32 (default 3): the "
                + "read's parallelism, e.g. concurrent GETs from S3; memory grows by about one snapshot each. "
                + "Also ARCHIVER_PREFETCH.", valueName: "n"))
    var prefetch: String?

    func run() async throws {
        try await CLIErrors.reporting {
            var job = ReplayJob(
                replayer: try await replayer(), projection: try ProjectionSpec(projection: projection, exec: exec))
            job.fromScratch = fromScratch
            job.saveSnapshot = saveSnapshot
            job.upcasters = try upcast.ruleSet()
            note(UpcastOptions.describe(job.upcasters).map { [$0] } ?? [], prefix: "")
            let sink = try RowSinkSpec(output: output, into: into, table: table).resolve(tables: Self.tableSinks)
            let plan = try await job.replayer.archive.plan(to: CutSelector(parsing: to))
            note(plan.planning.notes)
            let reporter = ProgressReporter(label: "replay", quiet: quiet)
            let started = ContinuousClock.now
            let outcome = try await job.run(plan: plan, into: sink) {
                reporter.update(done: $0, total: 0, seconds: $1)
            }
            reporter.finish()
            note(outcome.notes)
            if let from = outcome.startedFrom {
                let text = "\(from.rows) rows as of position \(from.lastPosition)"
                note(["starting from aggregate snapshot \(from.snapshotID) (\(text))"], prefix: "")
            }
            if let saved = outcome.saved {
                let text = "\(saved.rows) rows at position \(saved.lastPosition)"
                note(["saved aggregate snapshot \(saved.snapshotID) (\(text))"], prefix: "")
            }
            note(outcome.stats.read.notes)
            if !quiet { FileHandle.standardError.write(Data(summary(outcome, plan: plan, since: started).utf8)) }
        }
    }

    /// The archive reader for the options: shard, filters, prefetch and subject keys.
    func replayer() async throws -> Replayer {
        let shard = try shard.map { try ReplayShard(parsing: $0) }
        let prefetchCount = try CLIConfig.number("prefetch", flag: prefetch)
        let archive = try await ArchiveOpener.open(archiveOptions)
        var replayer = Replayer(archive: archive, verifyChain: verifyChain, filter: selection.filter(shard: shard))
        replayer.subjectKeys = try await SubjectKeyLoader.load(storeOptions)
        if let prefetchCount { replayer.prefetch = prefetchCount }
        return replayer
    }

    /// The SQL table writers of the two store modules, which ArchiverCore does not import.
    static let tableSinks = TableSinks(
        sqlite: { path, table in SQLiteRows(path: path, table: table) },
        postgres: { url, table in PostgresRows(url: url, table: table) })

    func note(_ lines: [String], prefix: String = "note: ") {
        guard !quiet else { return }
        for line in lines { FileHandle.standardError.write(Data("\(prefix)\(line)\n".utf8)) }
    }

    func summary(_ outcome: ReplayJob.Outcome, plan: ReadPlan, since started: ContinuousClock.Instant) -> String {
        let (stats, rows) = (outcome.stats, outcome.rowCount)
        let elapsed = ContinuousClock.now - started
        let seconds = elapsed.inSeconds
        return "replayed \(stats.applied) events (\(stats.read.events) read from \(stats.read.snapshots) "
            + "snapshots) to \(plan.selector), position \(plan.lastPosition): \(rows) rows in "
            + "\(String(format: "%.2f", seconds))s"
            + (verifyChain ? "; hash chain verified" : "; checksums verified") + "\n"
            + "read \(stats.read.files) of \(stats.read.files + stats.read.skippedFiles) segment files "
            + "(\(stats.read.snapshots) of \(stats.read.snapshots + stats.read.skippedSnapshots) "
            + "snapshots); planned from \(plan.planning.summary)\n"
    }
}

/// `--into sqlite:PATH`: the rows replace the table's contents in one transaction.
struct SQLiteRows: RowSink {
    let path: String
    let table: String

    func write(_ rows: [ProjectedRow]) throws { try write(RowStream(rows)) }

    func write(_ rows: RowStream) throws {
        try SQLiteTableSink.replace(path: path, table: table) { body in try rows.forEach(body) }
    }
}

/// `--into postgres://…`: the rows replace the table's contents in one transaction.
struct PostgresRows: RowSink {
    let url: String
    let table: String

    func write(_ rows: [ProjectedRow]) throws { try write(RowStream(rows)) }

    func write(_ rows: RowStream) throws {
        do {
            try PostgresTableSink.replace(url: url, table: table) { body in try rows.forEach(body) }
        } catch let error as CoordinationError {
            // Keep the password out of the message.
            throw CoordinationError(
                error.code, error.message.replacingOccurrences(of: url, with: StoreOptions.redacted(url)))
        }
    }
}

struct CutCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cut",
        abstract: "Create and list named cut points.",
        subcommands: [Create.self, List.self])

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Flush, then name the resulting snapshot as a cut point.",
            discussion: "Example: archiver cut create month-end-2026-11")

        @OptionGroup var arguments: FlushArguments
        @Argument(help: "The cut point's name.") var name: String

        func run() async throws {
            try await CLIErrors.reporting {
                try await arguments.storeOptions.withStore { store in
                    let archive = try await arguments.openArchive()
                    let summary = try await arguments.flushOnce(store: store, archive: archive, cutName: name)
                    if !arguments.quiet { print(FlushArguments.describe(summary)) }
                }
            }
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "List cut points: name, snapshot id, last position, time, event count.",
            discussion: "Every snapshot is a cut point; --all lists unnamed ones too.")

        @OptionGroup var archiveOptions: ArchiveOptions
        @Flag(help: "Also list snapshots without a name.") var all = false

        func run() async throws {
            try await CLIErrors.reporting {
                let archive = try await ArchiveOpener.open(archiveOptions)
                let resolution = try await archive.resolveCutPoints()
                for note in resolution.info.notes {
                    FileHandle.standardError.write(Data("note: \(note)\n".utf8))
                }
                let cuts = resolution.cuts
                print("NAME\tSNAPSHOT\tLAST_POSITION\tCREATED_AT\tEVENTS")
                for cut in cuts where all || cut.name != nil {
                    print(
                        "\(cut.name ?? "-")\t\(cut.snapshotID)\t\(cut.facts.lastPosition)\t"
                            + "\(cut.manifest.createdAt)\t\(cut.facts.eventCount)")
                }
            }
        }
    }
}
