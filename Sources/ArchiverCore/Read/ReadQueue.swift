import ArchiveFormat
import Lode

/// The snapshots a read goes through, in order, as the plan's ``CutStream`` produces them: the runs of the
/// active generation in place of the original snapshots they cover, without the snapshots that end at or
/// below the read's start, and with the data files a ``FileSelector`` leaves to read.
struct ReadQueue {
    /// A snapshot to read, and which of its files (nil: all).
    struct Unit {
        var cut: CutPoint
        var only: [Int]?
        /// Stored bytes of the files to read.
        var size: Int64
    }

    private var stream: CutStream
    private var substitution: ActiveGeneration.Substitution?
    private let after: Int64
    private let verifyChain: Bool
    private let selector: FileSelector?
    private var peeked: Unit?
    /// Snapshots and files the selector ruled out.
    private(set) var skippedSnapshots = 0
    private(set) var skippedFiles = 0

    /// - Parameters:
    ///   - after: leave out snapshots ending at or below this position (unless `verifyChain`, which needs the
    ///     chain from the start).
    ///   - selector: read only the files that can hold what it selects (nil: every file).
    init(plan: ReadPlan, after: Int64, verifyChain: Bool, selector: FileSelector?) {
        let skipping = !verifyChain && after > 0
        stream = plan.stream(skippingThrough: skipping ? after : nil)
        substitution = plan.generation.map { ActiveGeneration.Substitution($0) }
        self.after = after
        self.verifyChain = verifyChain
        self.selector = selector
    }

    /// The next snapshot to read, without taking it.
    mutating func peek() async throws -> Unit? {
        if let peeked { return peeked }
        while let original = try await stream.next() {
            var cut = original
            if substitution != nil {
                guard let unit = substitution!.unit(for: original) else { continue }
                cut = unit
            }
            guard verifyChain || cut.facts.lastPosition > after else { continue }
            var only: [Int]? = nil
            if let selector {
                let indices = selector.files(of: cut)
                skippedFiles += cut.manifest.files.count - indices.count
                if indices.isEmpty {
                    skippedSnapshots += 1
                    continue
                }
                if indices.count != cut.manifest.files.count { only = indices }
            }
            let size = (only ?? Array(cut.manifest.files.indices)).reduce(Int64(0)) {
                $0 + cut.manifest.files[$1].sizeBytes
            }
            peeked = Unit(cut: cut, only: only, size: size)
            return peeked
        }
        return nil
    }

    /// Takes the snapshot ``peek()`` returned.
    mutating func take() {
        peeked = nil
    }

    /// Why parts of the catalog checkpoint were read from the manifests instead.
    var notes: [String] {
        get async { await stream.notes }
    }

    func cancel() {
        stream.cancel()
    }
}
