public import ArchiveFormat
import Crypto
import Foundation
import Lode

/// One thing `verify` found wrong, with where it is.
public struct VerificationProblem: Sendable, Hashable, CustomStringConvertible {
    public enum Kind: String, Sendable, Hashable {
        /// Bytes differ from what a checksum, hash chain, manifest link or signature commits to.
        case tampered
        /// An object or manifest is missing or cannot be decoded.
        case unreadable
        /// A signature is by a key that is not trusted, or signatures are missing.
        case untrustedKey
        /// Objects in the dataset that no manifest lists (left by a crash); harmless but reported.
        case orphan
    }

    public var kind: Kind
    /// The snapshot, object key or line the problem is at.
    public var location: String
    public var message: String

    public var description: String { "\(kind.rawValue): \(location): \(message)" }
}

public struct VerificationReport: Sendable {
    public var snapshots = 0
    public var objects = 0
    public var events: Int64 = 0
    public var storedBytes: Int64 = 0
    public var chainHead: ChainHash = .genesis
    public var lastPosition: Int64 = 0
    public var headSnapshotID = ""
    public var problems: [VerificationProblem] = []
    /// What was rewritten from the committed manifests (with ``Verifier/repairs``): a pointer left behind the
    /// chain, missing hive partition copies.
    public var repaired: [String] = []
    public var seconds: Double = 0

    /// No problem other than orphans.
    public var isIntact: Bool { problems.allSatisfy { $0.kind == .orphan } }
}

/// Recomputes every object checksum, the per-event hash chain across segments and snapshots, the manifest
/// chain (each manifest commits to its parent's bytes), and looks for forks and orphans.
///
/// ```swift
/// let report = try await Verifier(archive: archive).run()
/// if !report.isIntact { for p in report.problems { print(p) } }
/// ```
public struct Verifier: Sendable {
    public let archive: Archive
    /// Rewrite what is derived from the committed manifests and found wrong (a `latest` pointer behind the
    /// chain, missing hive partition copies) instead of reporting it. Nothing committed is ever rewritten.
    public var repairs: Bool

    public init(archive: Archive, repairs: Bool = false) {
        self.archive = archive
        self.repairs = repairs
    }

    /// Verifies the chain up to `cut` (default: the head).
    /// - Parameter from: verify only the snapshots from this cut on (incremental verification after an
    ///   earlier full run): their objects, records and signatures, and their link to the snapshot before,
    ///   whose manifest bytes and chain head are taken as verified. Forks and orphans are not looked for.
    public func run(
        from start: CutSelector? = nil, to selector: CutSelector = .latest,
        progress: ((Int64, Double) -> Void)? = nil
    ) async throws
        -> VerificationReport
    {
        let started = ContinuousClock.now
        var report = VerificationReport()
        let plan = try await archive.plan(to: selector, source: .manifests)
        let all = try await plan.allCuts()
        report.headSnapshotID = all.last?.snapshotID ?? ""
        var (cuts, expectedStart, previousManifestSHA) = (all, ChainHash.genesis, "")
        if let start {
            (cuts, expectedStart, previousManifestSHA) = try await startingAt(start, in: all, verifying: selector)
        } else {
            try await checkForks(&report)
        }
        try await checkManifests(cuts, after: previousManifestSHA, &report)
        // The data, through the active layout: a compacted generation's snapshots in place of the originals they
        // cover, their facts checked against the original manifests.
        var units = cuts
        if let generation = plan.generation {
            report.problems += generation.problems(against: all)
            units = generation.substitute(cuts)
            if let run = units.first?.run {
                expectedStart = run.chainStart(in: all)
            }
        }
        // Events past the verified cut (in a generation snapshot that runs beyond it) are checked, not counted.
        let wholePlan = ReadPlan(
            cuts: units, maxPosition: cuts.last?.facts.lastPosition, maxRecordedAt: nil, selector: selector)
        try await checkData(units, of: wholePlan, chainStart: expectedStart, &report) { events in
            progress?(events, Flusher.seconds(since: started))
        }
        try await checkPartitionCopies(&report, cuts: cuts)
        if selector == .latest && start == nil {
            try await checkPointer(&report)
            try await findOrphans(&report, active: plan.generation)
            report.problems += try await ArchiveCatalog(archive: archive).problems(against: cuts)
        }
        report.seconds = Flusher.seconds(since: started)
        return report
    }

    /// The cuts from `start` on, with the chain hash and manifest hash of the snapshot before it.
    private func startingAt(
        _ start: CutSelector, in cuts: [CutPoint], verifying selector: CutSelector
    ) async throws -> (cuts: [CutPoint], chainStart: ChainHash, previousManifestSHA: String) {
        let first = try await archive.plan(to: start).last?.snapshotID
        guard let index = cuts.firstIndex(where: { $0.snapshotID == first }) else {
            throw ArchiverError(.unknownCut, "--from \(start) is not at or before the verified cut \(selector)")
        }
        guard index > 0 else { return (cuts, ChainHash.genesis, "") }
        let before = cuts[index - 1]
        return (
            Array(cuts[index...]), before.facts.chainHead,
            try await archive.manifestSHA256(snapshotID: before.snapshotID)
        )
    }

    /// The manifest chain and signatures, of the original snapshots (a compacted generation never changes them):
    /// each manifest records the SHA-256 of its parent's stored bytes.
    private func checkManifests(
        _ cuts: [CutPoint], after previousSHA: String, _ report: inout VerificationReport
    ) async throws {
        var previousManifestSHA = previousSHA
        for cut in cuts {
            report.snapshots += 1
            let location = "snapshot \(cut.snapshotID)"
            if cut.facts.parentManifestSHA256 != previousManifestSHA {
                report.problems.append(
                    VerificationProblem(
                        kind: .tampered, location: location,
                        message: "the manifest records parent manifest hash "
                            + "\(cut.facts.parentManifestSHA256.prefix(16))…, but the parent's manifest hashes to "
                            + "\(previousManifestSHA.prefix(16))…: a manifest was edited or replaced"))
            }
            previousManifestSHA = (try? await archive.manifestSHA256(snapshotID: cut.snapshotID)) ?? ""
            if let problem = signatureProblem(cut, location: location) { report.problems.append(problem) }
            report.chainHead = cut.facts.chainHead
            report.lastPosition = cut.facts.lastPosition
        }
    }

    /// Reads every snapshot of `units` and checks its objects and hash chain. Snapshots are fetched ahead in
    /// parallel; each is then checked on its own so that one problem does not hide the next.
    private func checkData(
        _ units: [CutPoint], of plan: ReadPlan, chainStart: ChainHash, _ report: inout VerificationReport,
        progress: (Int64) -> Void
    ) async throws {
        let reader = ArchiveReader(archive: archive, verifyChain: true)
        var expectedStart = chainStart
        var pending: [Task<Result<ArchiveReader.LoadedSnapshot, any Error>, Never>] = []
        defer { pending.forEach { $0.cancel() } }
        var next = 0
        let archive = self.archive
        func schedule() {
            // Generation snapshots are large: fetch one of them ahead, not three.
            while next < units.count && pending.count < (units[next].run == nil ? 3 : 1) {
                let cut = units[next]
                pending.append(
                    Task {
                        do {
                            return .success(try await ArchiveReader.load(cut, archive: archive))
                        } catch {
                            return .failure(error)
                        }
                    })
                next += 1
            }
        }
        schedule()
        for cut in units {
            let loaded = await pending.removeFirst().value
            schedule()
            let location =
                cut.run.map { "generation \($0.generation) snapshot \(cut.snapshotID) (\($0.sequenceRange))" }
                ?? "snapshot \(cut.snapshotID)"
            switch loaded {
            case .failure(let error):
                report.problems.append(Self.problem(error, location: location))
            case .success(let snapshot):
                report.objects += snapshot.pipelines.count
                report.storedBytes += snapshot.storedBytes
                var stats = ReadStats()
                do {
                    _ = try await reader.deliver(
                        snapshot, plan: plan, after: 0, chainStart: expectedStart, stats: &stats
                    ) { _, _ in }
                    report.events += stats.events
                } catch {
                    report.problems.append(Self.problem(error, location: location))
                }
            }
            expectedStart = cut.facts.chainHead
            progress(report.events)
        }
    }

    /// With trusted keys configured, every manifest must carry a valid signature by one of them.
    func signatureProblem(_ cut: CutPoint, location: String) -> VerificationProblem? {
        switch archive.trustedKeys.check(cut.manifest) {
        case .valid:
            return nil
        case .unsigned:
            guard !archive.trustedKeys.isEmpty else { return nil }
            return VerificationProblem(
                kind: .untrustedKey, location: location,
                message: "the manifest is not signed, but signatures are required")
        case .unknownKey(let id):
            guard !archive.trustedKeys.isEmpty else { return nil }
            return VerificationProblem(
                kind: .untrustedKey, location: location,
                message: "the manifest is signed by key \(id), which is not among the trusted public keys")
        case .invalid(let id):
            return VerificationProblem(
                kind: .tampered, location: location,
                message: "the signature by key \(id) does not match the manifest: it was altered after signing")
        }
    }

    static func problem(_ error: any Error, location: String) -> VerificationProblem {
        switch error {
        case let e as LodeError:
            let kind: VerificationProblem.Kind =
                [.checksumMismatch, .sizeMismatch, .forkDetected].contains(e.code) ? .tampered : .unreadable
            return VerificationProblem(kind: kind, location: e.key ?? location, message: e.message)
        case let e as ArchiveFormatError:
            return VerificationProblem(
                kind: e.code == .chainMismatch ? .tampered : .unreadable, location: location, message: e.message)
        case let e as ArchiverError:
            return VerificationProblem(
                kind: e.code == .tampered ? .tampered : .unreadable, location: location, message: e.message)
        default:
            return VerificationProblem(kind: .unreadable, location: location, message: "\(error)")
        }
    }

    /// Two manifests naming the same parent are a fork in the history.
    func checkForks(_ report: inout VerificationReport) async throws {
        let manifests = try await archive.events.allManifests()
        var children: [String: [String]] = [:]
        for m in manifests { children[m.parentSnapshotID ?? "", default: []].append(m.snapshotID) }
        for (parent, kids) in children where kids.count > 1 {
            report.problems.append(
                VerificationProblem(
                    kind: .tampered, location: parent.isEmpty ? "the first snapshot" : "snapshot \(parent)",
                    message: "history forks: snapshots \(kids.sorted().joined(separator: ", ")) all name it as parent"))
        }
    }

    /// Objects under the events dataset that no manifest lists, and data objects of generation datasets that are
    /// not the active generation's (a never-activated one left by an interrupted compaction, or one superseded).
    func findOrphans(_ report: inout VerificationReport, active: ActiveGeneration?) async throws {
        let live = Set(active?.runs.flatMap { $0.manifest.files.map(\.path) } ?? [])
        for (number, objects) in try await archive.generationObjects() {
            let data = objects.filter { !Self.isDatasetBookkeeping($0.key) && !live.contains($0.key) }
            guard !data.isEmpty else { continue }
            let why: String
            if number > active?.number ?? 0 {
                why =
                    "generation \(number) was never activated (left by an interrupted `archiver compact`, which "
                    + "removes it next time)"
            } else if number == active?.number {
                why = "no snapshot of the active generation lists this object"
            } else {
                why =
                    "generation \(number) is superseded by generation \(active!.number) (`archiver compact "
                    + "--retire` deletes its data)"
            }
            for object in data {
                report.problems.append(VerificationProblem(kind: .orphan, location: object.key, message: why))
            }
        }
        let manifests = try await archive.events.allManifests()
        var referenced = Set<String>()
        for m in manifests { for f in m.files { referenced.insert(f.path) } }
        for object in try await archive.store.list(prefix: "datasets/\(archive.settings.datasetID)/") {
            let key = object.key
            if referenced.contains(key) || Self.isDatasetBookkeeping(key) { continue }
            report.problems.append(
                VerificationProblem(
                    kind: .orphan, location: key,
                    message: "no manifest lists this object (left by an interrupted flush; `archiver flush` "
                        + "reuses or ignores it)"))
        }
    }

    /// Manifests and the `latest` pointer (and its lock file): a dataset's objects that are not data.
    static func isDatasetBookkeeping(_ key: String) -> Bool {
        key.hasSuffix("/manifest.json") || key.hasSuffix("/latest") || key.hasSuffix("/latest.lock")
    }
}
