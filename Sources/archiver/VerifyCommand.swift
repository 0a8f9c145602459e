import ArchiveFormat
import ArchiverCore
import ArgumentParser
import Coordination
import Foundation
import LodeS3

struct VerifyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify",
        abstract: "Check that nothing in the archive was lost, altered, reordered or inserted.",
        discussion: """
            Recomputes every object's size and MD5 against its manifest, every event's SHA-256 hash chain \
            across segments and snapshots, the manifest chain (each manifest commits to its parent's bytes), \
            and looks for forks and orphaned objects.

            With a coordination store (--store, ARCHIVER_STORE, or ./archiver.db when it exists), its flush \
            cursor is cross-checked: a cursor past the archive's head or naming a snapshot the archive does not \
            hold is reported. A `latest` pointer behind the chain is reported as tampering; --repair moves it to \
            the head and rewrites missing hive partition copies of manifests (both are derived from the committed \
            manifests; nothing committed is rewritten).

            Exit status: 0 intact (orphans are reported but allowed); 10 tampered; 11 missing or unreadable \
            objects; 12 untrusted or missing signature keys; 4 unknown cut point or empty archive.

            Examples:
              archiver verify
              archiver verify --cut month-end-2026-11
              archiver verify --from month-end-2026-11      # only what was added since (incremental)
            """)

    @OptionGroup var archiveOptions: ArchiveOptions
    @OptionGroup var signing: SigningOptions
    @OptionGroup var storeOptions: StoreOptions

    @Option(
        help: ArgumentHelp("Also check these published anchors (a file of `archiver anchor` lines).", valueName: "file")
    )
    var anchor: String?

    @Option(help: ArgumentHelp("Verify the archive up to this cut point (default: latest).", valueName: "cut"))
    var cut: String = "latest"

    @Option(
        help: ArgumentHelp(
            "Verify only from this cut point on, trusting the snapshots before it (after a full verify).",
            valueName: "cut"))
    var from: String?

    @Flag(help: "Print nothing but problems.")
    var quiet = false

    @Flag(help: "Rewrite a latest pointer behind the chain and missing partition copies from the manifests.")
    var repair = false

    func run() async throws {
        try await CLIErrors.reporting {
            var archive = try await ArchiveOpener.open(archiveOptions)
            try signing.apply(to: &archive)
            let reporter = ProgressReporter(label: "verify", quiet: quiet)
            let verifier = Verifier(archive: archive, repairs: repair)
            var report = try await verifier.run(
                from: from.map(CutSelector.init(parsing:)), to: CutSelector(parsing: cut)
            ) {
                done, seconds in
                reporter.update(done: done, total: 0, seconds: seconds)
            }
            reporter.finish()
            if let anchor {
                guard let text = try? String(contentsOfFile: anchor, encoding: .utf8) else {
                    throw ValidationError("cannot read anchor file \(anchor)")
                }
                try await verifier.check(anchors: try Anchor.parse(text, file: anchor), into: &report)
            }
            if let cursor = try await configuredStoreCursor() {
                try await verifier.check(cursor: cursor, storeName: storeOptions.displayLocation, into: &report)
            }
            for repaired in report.repaired { print("repaired: \(repaired)") }
            for problem in report.problems {
                FileHandle.standardError.write(Data("\(problem)\n".utf8))
            }
            let mb = Double(report.storedBytes) / 1e6
            let line =
                "\(report.snapshots) snapshots, \(report.objects) objects (\(String(format: "%.1f", mb)) MB"
                + (report.events > 0
                    ? ", \(String(format: "%.1f", Double(report.storedBytes) / Double(report.events))) bytes/event"
                    : "")
                + "), "
                + "\(report.events) events through position \(report.lastPosition); chain head "
                + "\(report.chainHead.hex) in \(String(format: "%.2f", report.seconds))s"
            if report.isIntact {
                let orphans = report.problems.count
                if !quiet { print("verify OK: \(line)" + (orphans > 0 ? "; \(orphans) orphaned object(s)" : "")) }
                return
            }
            let kinds = Set(report.problems.map(\.kind))
            print("verify FAILED: \(report.problems.filter { $0.kind != .orphan }.count) problem(s); \(line)")
            if kinds.contains(.tampered) { throw ExitCode(10) }
            if kinds.contains(.unreadable) { throw ExitCode(11) }
            throw ExitCode(12)
        }
    }
}

extension VerifyCommand {
    /// The flush cursor of the coordination store, when one is configured (`--store`, `ARCHIVER_STORE`, the
    /// configuration file) or the default `./archiver.db` exists; nil otherwise.
    func configuredStoreCursor() async throws -> FlushCursor? {
        let configured = storeOptions.store != nil || CLIConfig.isSet("store")
        guard configured || FileManager.default.fileExists(atPath: storeOptions.location) else { return nil }
        return try await storeOptions.withStore { try await $0.flushCursor() }
    }
}

/// Opens the archive named by `--archive`, taking its layout from its own manifests.
enum ArchiveOpener {
    static func open(
        _ options: ArchiveOptions, create: Bool = false, preferred: ArchiveSettings = ArchiveSettings()
    )
        async throws -> Archive
    {
        let store = try options.openStore(create: create)
        // One request up front, so wrong credentials, a missing bucket, the wrong region, clock skew or an
        // unreachable endpoint are one clear line before any work starts.
        if let s3 = store as? S3Store { try await s3.checkAccess() }
        return try await Archive.open(store: store, preferred: preferred)
    }
}
