import ArchiveFormat
import ArchiverCore
import ArgumentParser
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
            let shard = try shard.map { text in
                do {
                    return try ReplayShard(parsing: text)
                } catch let error as ArchiverError {
                    throw ValidationError(error.message)
                }
            }
            let prefetchCount = try CLIConfig.number("prefetch", flag: prefetch)
            let archive = try await ArchiveOpener.open(archiveOptions)
            let plan = try await archive.plan(to: CutSelector(parsing: to))
            for note in plan.planning.notes where !quiet {
                FileHandle.standardError.write(Data("note: \(note)\n".utf8))
            }
            var replayer = Replayer(
                archive: archive, verifyChain: verifyChain,
                filter: selection.filter(shard: shard))
            replayer.subjectKeys = try await SubjectKeyLoader.load(storeOptions)
            if let prefetchCount { replayer.prefetch = prefetchCount }
            let reporter = ProgressReporter(label: "replay", quiet: quiet)
            let started = ContinuousClock.now
            let rows: [ProjectedRow]
            let stats: ReplayStats
            if let exec {
                guard !saveSnapshot else {
                    throw ValidationError("--save-snapshot works with the built-in projections only")
                }
                var projector = try ExecProjection(command: exec)
                stats = try await replayer.run(&projector, plan: plan) {
                    reporter.update(done: $0, total: 0, seconds: $1)
                }
                rows = try projector.rows()
            } else if projection == "fold" {
                var fold = MergePatchFold()
                (stats, rows) = try await project(&fold, replayer: replayer, plan: plan, reporter: reporter)
            } else if projection.hasPrefix("sum:"), projection.count > 4 {
                var fold = FieldSumFold(field: String(projection.dropFirst(4)))
                (stats, rows) = try await project(&fold, replayer: replayer, plan: plan, reporter: reporter)
            } else {
                throw ValidationError("--projection '\(projection)' is not fold or sum:FIELD")
            }
            reporter.finish()
            for note in stats.read.notes where !quiet {
                FileHandle.standardError.write(Data("note: \(note)\n".utf8))
            }
            if let into {
                if into.hasPrefix("postgres://") || into.hasPrefix("postgresql://") {
                    do {
                        try PostgresTableSink.replace(url: into, table: table, rows: rows.map { ($0.key, $0.json) })
                    } catch let error as CoordinationError {
                        // Keep the password out of the message.
                        throw CoordinationError(
                            error.code,
                            error.message.replacingOccurrences(of: into, with: StoreOptions.redacted(into)))
                    }
                } else {
                    guard into.hasPrefix("sqlite:") || !into.contains("://") else {
                        throw ValidationError("--into takes sqlite:PATH or a postgres:// URL, not \(into)")
                    }
                    let path = into.hasPrefix("sqlite:") ? String(into.dropFirst("sqlite:".count)) : into
                    try SQLiteTableSink.replace(path: path, table: table, rows: rows.map { ($0.key, $0.json) })
                }
            } else {
                try RowOutput.write(rows, to: output)
            }
            if !quiet {
                let seconds =
                    Double((ContinuousClock.now - started).components.attoseconds) / 1e18
                    + Double((ContinuousClock.now - started).components.seconds)
                FileHandle.standardError.write(
                    Data(
                        ("replayed \(stats.applied) events (\(stats.read.events) read from \(stats.read.snapshots) "
                            + "snapshots) to \(plan.selector), position \(plan.lastPosition): \(rows.count) rows in "
                            + "\(String(format: "%.2f", seconds))s"
                            + (verifyChain ? "; hash chain verified" : "; checksums verified") + "\n"
                            + "read \(stats.read.files) of \(stats.read.files + stats.read.skippedFiles) segment files "
                            + "(\(stats.read.snapshots) of \(stats.read.snapshots + stats.read.skippedSnapshots) "
                            + "snapshots); planned from \(plan.planning.summary)\n").utf8))
            }
        }
    }

    /// Replays into a built-in projection, starting from the newest compatible aggregate snapshot unless
    /// --from-scratch, and saving one with --save-snapshot.
    func project<P: Projection>(
        _ projection: inout P, replayer: Replayer, plan: ReadPlan, reporter: ProgressReporter
    ) async throws -> (ReplayStats, [ProjectedRow]) {
        let snapshots = try AggregateSnapshots(
            archive: replayer.archive, identity: projection.identity, filter: replayer.filter)
        var after: Int64 = 0
        if !fromScratch, let found = try await snapshots.newestCompatible(for: plan) {
            for note in found.notes where !quiet { FileHandle.standardError.write(Data("note: \(note)\n".utf8)) }
            try projection.restore(rows: found.rows)
            after = found.info.lastPosition
            if !quiet {
                FileHandle.standardError.write(
                    Data(
                        ("starting from aggregate snapshot \(found.info.snapshotID) (\(found.rows.count) rows as of "
                            + "position \(after))\n").utf8))
            }
        }
        let stats = try await replayer.run(&projection, plan: plan, after: after) {
            reporter.update(done: $0, total: 0, seconds: $1)
        }
        let rows = try projection.rows()
        if saveSnapshot {
            let info = try await snapshots.save(rows, plan: plan)
            if !quiet {
                FileHandle.standardError.write(
                    Data(
                        "saved aggregate snapshot \(info.snapshotID) (\(info.rows) rows at position \(info.lastPosition))\n"
                            .utf8))
            }
        }
        return (stats, rows)
    }
}

enum RowOutput {
    /// Writes one JSON row per line to stdout, or to `path`: atomically (temp file + rename) when `path` is a
    /// regular file or does not exist yet, directly when it is something else (a pipe, /dev/null), which a
    /// rename would replace.
    static func write(_ rows: [ProjectedRow], to path: String?) throws {
        var out: [UInt8] = []
        out.reserveCapacity(rows.count * 128)
        for row in rows {
            out.append(contentsOf: row.json.utf8)
            out.append(0x0A)
        }
        guard let path else {
            FileHandle.standardOutput.write(Data(out))
            return
        }
        // FileManager rather than stat(2): which Clang module owns sys/stat.h shifts with the dependency graph.
        let type = (try? FileManager.default.attributesOfItem(atPath: path))?[.type] as? FileAttributeType
        if let type, type != .typeRegular {
            guard let handle = FileHandle(forWritingAtPath: path) else {
                throw ValidationError("cannot write \(path): check it is writable")
            }
            try handle.write(contentsOf: out)
            try handle.close()
            return
        }
        let temp = path + ".tmp-\(getpid())"
        guard FileManager.default.createFile(atPath: temp, contents: Data(out)) else {
            throw ValidationError("cannot write \(path): check the directory exists and is writable")
        }
        guard rename(temp, path) == 0 else {
            unlink(temp)
            throw ValidationError("cannot replace \(path): \(String(cString: strerror(errno)))")
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
                let store = try await arguments.storeOptions.openStore()
                let archive = try await arguments.openArchive()
                do {
                    let summary = try await arguments.flushOnce(store: store, archive: archive, cutName: name)
                    if !arguments.quiet { print(FlushArguments.describe(summary)) }
                } catch {
                    await store.close()
                    throw error
                }
                await store.close()
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
