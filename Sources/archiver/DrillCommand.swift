import ArchiverCore
import ArgumentParser
import Coordination
import CoordinationSQLite
import Foundation

struct DrillCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "drill",
        abstract: "Prove the archive restores: restore a cut, replay it, compare with the live store, attest.",
        discussion: """
            Restores the cut into a temporary SQLite store (verifying checksums and the hash chain), replays the \
            merge-patch fold over the archive, and compares: the live store's flush cursor with the archive; every \
            event above the live store's pruned position, field by field and as a digest; stream heads; per \
            snapshot, event counts, positions and chain links against the manifests; the chain head the restored \
            events re-hash to; and the archive replay against the restored events folded on a separate path. An \
            attestation (cut, counts, digests, duration, version, result; signed with --signing-key, otherwise \
            unsigned) is written to the archive's `drills` dataset; `prune` requires a recent passing one.

            Exit status: 0 the drill passed; 13 the drill failed (one line per difference on stderr); 4 unknown \
            cut point or empty archive.

            Examples:
              archiver drill                       # the latest cut
              archiver drill --to month-end-2026-11
              archiver drill --random --signing-key archive.key
              archiver drill --list --trusted-key archive.pub
            """)

    @OptionGroup var storeOptions: StoreOptions
    @OptionGroup var archiveOptions: ArchiveOptions
    @OptionGroup var signing: SigningOptions

    @Option(help: ArgumentHelp("Cut point to drill: name, snapshot id, position, time or latest.", valueName: "cut"))
    var to: String?

    @Flag(help: "Drill a cut picked at random.")
    var random = false

    @Flag(help: "List the recorded drill attestations instead of running a drill.")
    var list = false

    func run() async throws {
        try await CLIErrors.reporting {
            guard !(random && to != nil) else { throw ValidationError("pass --to CUT or --random, not both") }
            var archive = try await ArchiveOpener.open(archiveOptions)
            try signing.apply(to: &archive)
            if list {
                try await DrillListing(archive: archive).print()
                return
            }
            let target: DrillRunner.Target = random ? .random : .cut(CutSelector(parsing: to ?? "latest"))
            let attestation = try await storeOptions.withStore { store in
                try await DrillRunner(
                    archive: archive, live: store, producer: ArchiverVersion.producer,
                    scratchStore: Self.scratchStore
                ).run(target)
            }
            report(attestation)
            if !attestation.passed { throw ExitCode(13) }
        }
    }

    /// The drill's scratch store: SQLite without fsync on each commit (it is thrown away afterwards).
    @Sendable static func scratchStore(_ directory: String) async throws -> any CoordinationStore {
        var options = SQLiteCoordinationStore.Options()
        options.synchronous = .normal
        return try await SQLiteCoordinationStore(path: directory + "/scratch.db", options: options)
    }

    func report(_ a: DrillAttestation) {
        for difference in a.differences {
            FileHandle.standardError.write(Data("drill: \(difference)\n".utf8))
        }
        var cut = a.cutName.map { "'\($0)' (snapshot \(a.cutSnapshotID))" } ?? "snapshot \(a.cutSnapshotID)"
        if a.cutSnapshotID.isEmpty { cut = "no readable cut" }
        let signed = a.keyID.map { "signed by key \($0)" } ?? "unsigned"
        let seconds = String(format: "%.2f", Double(a.durationMilliseconds) / 1_000)
        guard a.passed else {
            print("drill FAILED: \(a.differences.count) difference(s) at \(cut); attestation \(signed) in \(seconds)s")
            return
        }
        print(
            "drill PASSED: restored \(a.restoredEvents) events of \(a.restoredStreams) streams through position "
                + "\(a.lastPosition), cut \(cut); compared \(a.liveEventsCompared) live events above pruned position "
                + "\(a.prunedThrough) and \(a.headsCompared) stream heads; chain head \(a.chainHead.prefix(16))…, "
                + "replay digest \(a.replayDigest.prefix(16))…; attestation \(signed) in \(seconds)s")
    }
}

/// `archiver drill --list`: one line per attestation, oldest first.
struct DrillListing {
    let archive: Archive

    func print() async throws {
        let attestations = try await DrillLog(archive: archive).attestations()
        guard !attestations.isEmpty else {
            Swift.print("no drills recorded: run `archiver drill`")
            return
        }
        Swift.print("started_at                   result  last_position  events      cut                  signature")
        for a in attestations {
            let cut = a.cutName ?? (a.cutSnapshotID.isEmpty ? "-" : a.cutSnapshotID)
            Swift.print(
                [
                    a.startedAt.padding(toLength: 28, withPad: " ", startingAt: 0),
                    a.result.rawValue.padding(toLength: 7, withPad: " ", startingAt: 0),
                    String(a.lastPosition).padding(toLength: 14, withPad: " ", startingAt: 0),
                    String(a.restoredEvents).padding(toLength: 11, withPad: " ", startingAt: 0),
                    cut.padding(toLength: 20, withPad: " ", startingAt: 0), signature(a),
                ].joined(separator: " "))
        }
    }

    func signature(_ a: DrillAttestation) -> String {
        switch a.check(archive.trustedKeys) {
        case .unsigned: "unsigned"
        case .valid(let keyID): "valid (\(keyID))"
        case .invalid(let keyID): "INVALID (\(keyID))"
        case .unknownKey(let keyID):
            archive.trustedKeys.isEmpty ? "signed (\(keyID), not checked)" : "untrusted (\(keyID))"
        }
    }
}
