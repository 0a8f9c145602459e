import ArchiveFormat
import ArchiverCore
import ArgumentParser
import Foundation

struct ExportCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export",
        abstract: "Write selected events to a bundle an auditor can verify without the archive.",
        discussion: """
            The bundle holds the events' archived record lines byte for byte (records.jsonl, and events.csv \
            with --format csv), one inclusion proof per event (an RFC 9162 Merkle audit path to the records \
            root its snapshot's signed manifest commits to), the manifests from the first snapshot with a \
            selected event up to the cut, and a README explaining how to check it. Every snapshot read is \
            verified (checksums, hash chain, records root) first. See docs/AUDIT.md.

            --output ending in .tar writes a tar file; anything else is a new directory.

            Examples:
              archiver export --stream account-42 --output account-42-bundle
              archiver export --category account --from 2026-11-01T00:00:00Z --to month-end --format csv \\
                  --output november.tar
            """)

    @OptionGroup var archiveOptions: ArchiveOptions
    /// Where subject keys come from, to show encrypted events' data in events.csv.
    @OptionGroup var storeOptions: StoreOptions

    @OptionGroup var selection: EventSelectionOptions
    @OptionGroup var upcast: UpcastOptions

    @Option(help: ArgumentHelp("Only events at or after this global position or RFC 3339 time.", valueName: "from"))
    var from: String?

    @Option(
        help: ArgumentHelp(
            "Up to this cut point: name, snapshot id, position, RFC 3339 time, or latest.", valueName: "cut"))
    var to: String = "latest"

    @Option(help: ArgumentHelp("jsonl (records only) or csv (records plus a table).", valueName: "format"))
    var format: String = "jsonl"

    @Option(name: [.short, .long], help: ArgumentHelp("The bundle directory, or a .tar file.", valueName: "path"))
    var output: String

    @Flag(help: "Print nothing but errors.")
    var quiet = false

    func validate() throws {
        guard ["jsonl", "csv"].contains(format) else {
            throw ValidationError("--format must be jsonl or csv, not '\(format)'")
        }
    }

    func run() async throws {
        try await CLIErrors.reporting {
            let archive = try await ArchiveOpener.open(archiveOptions)
            let plan = try await archive.plan(to: CutSelector(parsing: to))
            var selection = ExportSelection(
                filter: selection.filter())
            if let from {
                if let position = Int64(from), position >= 0 {
                    selection.fromPosition = position
                } else if let time = ArchiveTime.parseRFC3339(from) {
                    selection.fromRecordedAt = time
                } else {
                    throw ValidationError("--from \(from) is neither a position nor an RFC 3339 time")
                }
            }
            let tar = output.hasSuffix(".tar")
            if FileManager.default.fileExists(atPath: output) && tar {
                throw ValidationError("\(output) exists: choose a new file name")
            }
            let directory = tar ? output + ".partial" : output
            var exporter = Exporter(archive: archive)
            exporter.producer = ArchiverVersion.producer
            exporter.subjectKeys = try await SubjectKeyLoader.load(storeOptions)
            exporter.upcasters = try upcast.ruleSet()
            let reporter = ProgressReporter(label: "export", quiet: quiet)
            let summary = try await exporter.run(
                plan: plan, selection: selection, directory: directory, csv: format == "csv"
            ) { done, seconds in reporter.update(done: done, total: 0, seconds: seconds) }
            reporter.finish()
            if tar {
                defer { try? FileManager.default.removeItem(atPath: directory) }
                try BundleArchive.create(tar: output, from: directory)
            }
            if !quiet {
                print(
                    "exported \(summary.events) events from \(summary.snapshots) snapshot(s) with proofs and "
                        + "\(summary.manifests) manifest(s) to \(output) in \(String(format: "%.2f", summary.seconds))s"
                )
            }
        }
    }
}

struct VerifyBundleCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify-bundle",
        abstract: "Prove, without the archive, that every event in an export bundle is in the archive unaltered.",
        discussion: """
            Checks each record's bytes against its chain hash, each inclusion proof against the records root \
            of its snapshot's manifest, each manifest's signature against the given public keys, the \
            manifests' parent links up to the cut, events.csv against the records, and, with --anchor, the \
            cut against published anchors.

            Exit status: 0 intact; 10 altered; 11 missing or unreadable files; 12 unsigned or signed by a \
            key not given.

            Example: archiver verify-bundle account-42-bundle --public-key archive-2026.pub
            """)

    @Argument(help: ArgumentHelp("The bundle directory or .tar file.", valueName: "bundle"))
    var bundle: String

    @Option(help: ArgumentHelp("A trusted Ed25519 public key file (repeatable).", valueName: "file"))
    var publicKey: [String] = []

    @Option(help: ArgumentHelp("Also check the cut against these published anchors.", valueName: "file"))
    var anchor: String?

    @Flag(help: "Accept unsigned manifests: checks consistency only, not where the bundle came from.")
    var allowUnsigned = false

    @Flag(help: "Print nothing but problems.")
    var quiet = false

    func run() async throws {
        try await CLIErrors.reporting {
            if publicKey.isEmpty && !allowUnsigned {
                throw ValidationError(
                    "give the archive owner's public key with --public-key FILE (or --allow-unsigned to check "
                        + "consistency only)")
            }
            let keys = TrustedKeys(try publicKey.map { try KeyFiles.loadPublic(path: $0) })
            var anchors: [Anchor] = []
            if let anchor {
                guard let text = try? String(contentsOfFile: anchor, encoding: .utf8) else {
                    throw ValidationError("cannot read anchor file \(anchor)")
                }
                anchors = try Anchor.parse(text, file: anchor)
            }
            var directory = bundle
            var extracted: String? = nil
            if bundle.hasSuffix(".tar") {
                extracted = try BundleArchive.extract(tar: bundle)
                directory = extracted!
            }
            defer { if let extracted { try? FileManager.default.removeItem(atPath: extracted) } }
            guard FileManager.default.fileExists(atPath: directory) else {
                throw ValidationError("no bundle at \(bundle)")
            }
            let report = try BundleVerifier(
                directory: directory, trustedKeys: keys, allowUnsigned: allowUnsigned, anchors: anchors
            ).run()
            for problem in report.problems {
                FileHandle.standardError.write(Data("\(problem)\n".utf8))
            }
            let summary =
                "\(report.events) events, \(report.manifests) manifests up to snapshot \(report.cutSnapshot) "
                + "(position \(report.cutLastPosition), chain head \(report.cutChainHead))"
            if report.isIntact {
                if !quiet {
                    let keys =
                        report.signedBy.isEmpty
                        ? "unsigned" : "signed by \(report.signedBy.sorted().joined(separator: ", "))"
                    let anchored = report.anchorsChecked > 0 ? "; matches \(report.anchorsChecked) anchor(s)" : ""
                    print("bundle OK: \(summary); \(keys)\(anchored)")
                }
                return
            }
            print("bundle FAILED: \(report.problems.count) problem(s); \(summary)")
            let kinds = Set(report.problems.map(\.kind))
            if kinds.contains(.tampered) { throw ExitCode(10) }
            if kinds.contains(.unreadable) { throw ExitCode(11) }
            throw ExitCode(12)
        }
    }
}

/// Bundles as tar files, through the system's `tar` (POSIX ustar, readable everywhere).
enum BundleArchive {
    static func create(tar: String, from directory: String) throws {
        try run(["-cf", tar, "-C", directory, "."], what: "write \(tar)")
    }

    /// Extracts into a new temporary directory and returns it.
    static func extract(tar: String) throws -> String {
        guard FileManager.default.fileExists(atPath: tar) else { throw ValidationError("no bundle at \(tar)") }
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent(
            "archiver-bundle-\(UUID().uuidString)"
        ).path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        do {
            try run(["-xf", tar, "-C", directory, "--no-same-owner"], what: "read \(tar)")
        } catch {
            try? FileManager.default.removeItem(atPath: directory)
            throw error
        }
        return directory
    }

    private static func run(_ arguments: [String], what: String) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["tar"] + arguments
        let errors = Pipe()
        process.standardError = errors
        do {
            try process.run()
        } catch {
            throw ValidationError("cannot \(what): the tar program is not available (\(error))")
        }
        let message = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw ValidationError(
                "cannot \(what): tar says \(message.split(separator: "\n").first.map(String.init) ?? "nothing")")
        }
    }
}
