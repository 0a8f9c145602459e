import ArgumentParser
import Foundation
import Lode
import LodeS3
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// `archiver lode …`: read-only inspection of Lode archives (plus a hidden create-only put for tests).
struct LodeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "lode",
        abstract: "Inspect Lode archives: datasets, snapshots, files, records, integrity.",
        discussion: """
            ROOT is an archive directory (S3 roots are planned). --dataset may be left out when ROOT holds one \
            dataset; the layout (default, hive, flat) is detected. Nothing here writes to the archive, except \
            the hidden 'put'.
            Exit codes: 0 ok; 1 error (one line on stderr); 2 'check' found problems; 3 'put' hit an existing key.
            """,
        subcommands: [
            LodeDatasetsCommand.self, LodeSnapshotsCommand.self, LodeFilesCommand.self, LodeCatCommand.self,
            LodeCheckCommand.self, LodePutCommand.self,
        ]
    )
}

/// ROOT and --dataset, shared by the subcommands that look at one dataset.
struct LodeDatasetOptions: ParsableArguments {
    @Argument(help: "The archive root: a directory.")
    var root: String

    @Option(help: "The dataset ID (optional when ROOT holds exactly one dataset).")
    var dataset: String?
}

struct LodeDatasetsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "datasets", abstract: "List the datasets in ROOT: ID, layout, snapshot count, head.")

    @Argument(help: "The archive root: a directory.")
    var root: String

    func run() async throws {
        try await reportingErrors {
            let store = try openStore(root: root)
            let found = try await LodeStore.discover(in: store)
            var out = StandardOutput()
            out.write("dataset\tlayout\tsnapshots\thead\n")
            for entry in found {
                let dataset = try LodeDataset(store: store, datasetID: entry.datasetID, layout: entry.layout)
                let manifests = try await dataset.allManifests()
                let head = try await dataset.head()?.snapshotID ?? "-"
                out.write("\(entry.datasetID)\t\(entry.layout)\t\(manifests.count)\t\(head)\n")
            }
            out.flush()
        }
    }
}

struct LodeSnapshotsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "snapshots",
        abstract: "List a dataset's snapshots from the root to the head (parent order), one per line.")

    @OptionGroup var options: LodeDatasetOptions

    func run() async throws {
        try await reportingErrors {
            let dataset = try await resolveDataset(options)
            var manifests: [Manifest]
            do {
                manifests = try await dataset.history()
            } catch let error as LodeError where error.code == .forkDetected || error.code == .brokenChain {
                // Still show everything, in snapshot ID order, and say why it is not a chain.
                printError("warning: \(error.message); listing all snapshots by ID instead")
                manifests = try await dataset.allManifests()
            }
            var out = StandardOutput()
            out.write("snapshot_id\tparent\tcreated_at\trows\tfiles\tbytes\n")
            for manifest in manifests {
                let stored = manifest.files.reduce(Int64(0)) { $0 + $1.sizeBytes }
                out.write(
                    "\(manifest.snapshotID)\t\(manifest.parent ?? "-")\t\(manifest.createdAt)\t\(manifest.rowCount)"
                        + "\t\(manifest.files.count)\t\(stored)\n")
            }
            out.flush()
        }
    }
}

struct LodeFilesCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "files",
        abstract: "List the data objects of the chain up to a snapshot (default: the head).")

    @OptionGroup var options: LodeDatasetOptions

    @Option(help: "The last snapshot of the chain (default: the head).")
    var snapshot: String?

    func run() async throws {
        try await reportingErrors {
            let dataset = try await resolveDataset(options)
            var out = StandardOutput()
            out.write("snapshot_id\tpath\tsize_bytes\tchecksum\n")
            for manifest in try await dataset.history(upTo: snapshot, allowForks: snapshot != nil) {
                for file in manifest.files {
                    out.write("\(manifest.snapshotID)\t\(file.path)\t\(file.sizeBytes)\t\(file.checksum ?? "-")\n")
                }
            }
            out.flush()
        }
    }
}

struct LodeCatCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cat",
        abstract: "Print the records of the chain up to a snapshot, one JSON value per line (verified).")

    @OptionGroup var options: LodeDatasetOptions

    @Option(help: "The last snapshot of the chain (default: the head).")
    var snapshot: String?

    func run() async throws {
        try await reportingErrors {
            let dataset = try await resolveDataset(options)
            var out = StandardOutput()
            // Records already verified and printed stay printed when a later snapshot fails.
            defer { out.flush() }
            for manifest in try await dataset.history(upTo: snapshot, allowForks: snapshot != nil) {
                if manifest.codec == nil {
                    // A raw blob has no records: print its payload as it is.
                    for file in manifest.files { out.write(try await dataset.readFile(file, manifest: manifest)) }
                    continue
                }
                try await dataset.forEachRecord(in: manifest) { line in
                    out.write(line)
                    out.write(newline: ())
                }
            }
        }
    }
}

struct LodeCheckCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check",
        abstract: "Verify manifests, the parent chain, object sizes and MD5s; list orphans. Exit 2 on problems.")

    @Argument(help: "The archive root: a directory.")
    var root: String

    @Option(help: "The dataset ID (default: every dataset in ROOT).")
    var dataset: String?

    func run() async throws {
        var problems = 0
        try await reportingErrors {
            let store = try openStore(root: root)
            let datasets: [LodeDataset]
            if let dataset {
                datasets = [try await resolveDataset(root: root, dataset: dataset, store: store)]
            } else {
                let found = try await LodeStore.discover(in: store)
                if found.isEmpty { throw LodeError(.noSnapshots, "'\(root)' holds no Lode dataset") }
                datasets = try found.map { try LodeDataset(store: store, datasetID: $0.datasetID, layout: $0.layout) }
            }
            var out = StandardOutput()
            for dataset in datasets {
                let report = try await dataset.check()
                out.write(
                    "dataset \(report.datasetID) (\(report.layout)): \(report.snapshotsChecked) snapshot(s), "
                        + "\(report.filesChecked) file(s) verified, head \(report.head ?? "-")\n")
                for problem in report.problems {
                    out.write("problem: \(problem.code): \(problem.message)\n")
                }
                for orphan in report.orphans {
                    out.write("orphan: \(orphan) (not referenced by any manifest)\n")
                }
                problems += report.problems.count
            }
            out.write(problems == 0 ? "ok\n" : "\(problems) problem(s)\n")
            out.flush()
        }
        if problems > 0 { throw ExitCode(2) }
    }
}

/// Hidden: create-only publish of a local file (the two-process race test uses it).
struct LodePutCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "put", abstract: "Create-only put of a local file as KEY (exit 3 when KEY exists).",
        shouldDisplay: false)

    @Argument(help: "The archive root: a directory.")
    var root: String

    @Argument(help: "The object key.")
    var key: String

    @Argument(help: "The local file to publish.")
    var file: String

    @Option(help: "Wait until this Unix time in milliseconds before putting (lines racing processes up).")
    var notBeforeMs: Int64?

    func run() async throws {
        if let notBeforeMs {
            // Foundation rather than clock_gettime: which Clang module owns time.h shifts with the dependency graph.
            let wait = notBeforeMs - Int64(Date().timeIntervalSince1970 * 1_000)
            if wait > 0 { try await Task.sleep(for: .milliseconds(wait)) }
        }
        do {
            try await openStore(root: root, create: true).putFile(key, fromLocalFile: file)
        } catch let error as LodeError where error.code == .pathExists {
            printError("error: \(error.message)")
            throw ExitCode(3)
        } catch let error as LodeError {
            printError("error: \(error.description)")
            throw ExitCode(1)
        } catch let error as S3Error {
            printError("error: \(error.description)")
            throw ExitCode(1)
        }
    }
}

// MARK: - Wiring

/// Resolves a dataset root to a store: a directory, or `s3://bucket/prefix` configured from the environment
/// (ARCHIVER_S3_*, AWS_*; see docs/OPERATIONS.md).
func openStore(root: String, create: Bool = false) throws -> any ObjectStore {
    if root.hasPrefix("s3://") {
        return S3Store(configuration: try S3Configuration.resolve(url: root))
    }
    // FileManager rather than stat(2): which Clang module owns sys/stat.h shifts with the dependency graph.
    var isDirectory: ObjCBool = false
    if !FileManager.default.fileExists(atPath: root, isDirectory: &isDirectory) {
        if create { return FileStore(root: root) }
        throw LodeError(.notFound, "archive root '\(root)' does not exist")
    }
    guard isDirectory.boolValue else {
        throw LodeError(.invalidConfiguration, "archive root '\(root)' is not a directory")
    }
    return FileStore(root: root)
}

/// The dataset named by --dataset, or the only one in the store; its layout detected.
func resolveDataset(_ options: LodeDatasetOptions) async throws -> LodeDataset {
    try await resolveDataset(root: options.root, dataset: options.dataset, store: openStore(root: options.root))
}

func resolveDataset(root: String, dataset: String?, store: any ObjectStore) async throws -> LodeDataset {
    if let id = dataset {
        guard let layout = try await LodeStore.detectLayout(of: id, in: store) else {
            let known = try await LodeStore.discover(in: store).map(\.datasetID)
            throw LodeError(
                .notFound,
                "no dataset '\(id)' in '\(root)'"
                    + (known.isEmpty ? "" : " (it holds: \(known.joined(separator: ", ")))"))
        }
        return try LodeDataset(store: store, datasetID: id, layout: layout)
    }
    let found = try await LodeStore.discover(in: store)
    switch found.count {
    case 0: throw LodeError(.noSnapshots, "'\(root)' holds no Lode dataset")
    case 1: return try LodeDataset(store: store, datasetID: found[0].datasetID, layout: found[0].layout)
    default:
        throw LodeError(
            .invalidConfiguration,
            "'\(root)' holds \(found.count) datasets (\(found.map(\.datasetID).joined(separator: ", "))); "
                + "choose one with --dataset")
    }
}

/// Runs `body`; a Lode or S3 error becomes one line on stderr and exit code 1 (no stack trace).
func reportingErrors(_ body: () async throws -> Void) async throws {
    do {
        try await body()
    } catch let error as LodeError {
        printError("error: \(error.description)")
        throw ExitCode(1)
    } catch let error as S3Error {
        printError("error: \(error.description)")
        throw ExitCode(1)
    }
}

func printError(_ message: String) {
    let line = Array((message + "\n").utf8)
    line.withUnsafeBytes { raw in _ = Glibc.write(2, raw.baseAddress!, raw.count) }
}

/// Buffered standard output: one `write(2)` per 64 KiB, not per record.
struct StandardOutput {
    private var buffer: [UInt8] = []
    private static let flushBytes = 64 * 1024

    init() {
        buffer.reserveCapacity(Self.flushBytes * 2)
    }

    mutating func write(_ text: String) {
        buffer.append(contentsOf: text.utf8)
        if buffer.count >= Self.flushBytes { flush() }
    }

    mutating func write(_ bytes: UnsafeRawBufferPointer) {
        buffer.append(contentsOf: bytes)
        if buffer.count >= Self.flushBytes { flush() }
    }

    mutating func write(_ bytes: [UInt8]) {
        buffer.append(contentsOf: bytes)
        if buffer.count >= Self.flushBytes { flush() }
    }

    mutating func write(newline: Void) {
        buffer.append(UInt8(ascii: "\n"))
    }

    mutating func flush() {
        var offset = 0
        buffer.withUnsafeBytes { raw in
            while offset < raw.count {
                let written = Glibc.write(1, raw.baseAddress! + offset, raw.count - offset)
                if written < 0 {
                    if errno == EINTR { continue }
                    return  // stdout closed (e.g. `| head`): stop quietly
                }
                offset += written
            }
        }
        buffer.removeAll(keepingCapacity: true)
    }
}
