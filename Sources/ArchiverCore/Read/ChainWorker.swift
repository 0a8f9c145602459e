import ArchiveFormat
import Foundation

/// Recomputes one snapshot's hash chain on a thread of its own while the reader delivers its records.
///
/// The chain is sequential (each value hashes the one before), but it does not have to run on the reader's thread:
/// the reader copies each record into a batch and hands full batches over, so the chain, the records tree and the
/// per-file and per-frame chain values are computed on the other core while the projection folds. The reader
/// rechecks ``failure`` at each hand-over and, when anything fails, waits for the batches already handed over
/// (``stop()``): a record whose hash does not follow is reported before any error at a later record, as when the
/// chain ran inline. A snapshot of fewer than ``threadedFrom`` records is chained on the reader's thread, a batch
/// at a time, the same way.
final class ChainWorker: @unchecked Sendable {
    /// A record copied into a batch: where its line starts in the batch's bytes, and what the checks need.
    private struct Entry {
        var start: Int
        var fields: RecordFields
        var file: Int
        var lineNumber: Int
    }

    /// Records handed over together; reused once the worker is done with it.
    /// One thread at a time touches a batch (the reader fills it, the worker reads it, the lock hands it over), so
    /// the per-record accesses skip the dynamic exclusivity check.
    private final class Batch {
        @exclusivity(unchecked) var bytes: [UInt8] = []
        @exclusivity(unchecked) var entries: [Entry] = []

        init() {
            bytes.reserveCapacity(ChainWorker.batchBytes + (1 << 12))
        }
    }

    /// Record bytes per hand-over: large enough that the lock is taken rarely, small enough that the reader does
    /// not deliver many records past a broken one before it hears of it.
    static let batchBytes = 1 << 16
    /// Batches waiting for the worker before the reader waits in turn (memory stays at a few batches).
    private static let queueLimit = 4
    /// Records from which a snapshot's chain gets a thread of its own: below, starting one costs more than it
    /// saves, and the reader chains each batch itself.
    static let threadedFrom: Int64 = 1_000

    /// What the chain has reached: read after ``stop()``.
    struct Progress {
        var chain: ChainHash
        var tree = RecordsTree.Accumulator()
        var fileChains: FileChainCheck?
        var frameIndex: FrameIndexCheck?
    }

    /// Owned by the worker thread until ``stop()`` returns (no lock: the hand-over orders the accesses).
    private(set) var progress: Progress
    private let hashed: Bool
    private let buildsTree: Bool
    private let paths: [String]
    private let threaded: Bool

    private let condition = NSCondition()
    private var queue: [Batch] = []
    private var spare: [Batch] = []
    private var closed = false
    private var exited = false
    private var firstFailure: ArchiveFormatError?
    /// The reader's batch being filled (touched only by the reader).
    @exclusivity(unchecked) private var filling = Batch()

    /// Starts the worker thread (when `threaded`).
    /// - Parameters:
    ///   - chainStart: the chain value before the snapshot's first record.
    ///   - hashed: format 1, whose records carry their own chain value to compare.
    ///   - buildsTree: the manifest records a records root to recompute.
    init(
        chainStart: ChainHash, hashed: Bool, buildsTree: Bool, paths: [String], fileChains: FileChainCheck?,
        frameIndex: FrameIndexCheck?, threaded: Bool
    ) {
        progress = Progress(chain: chainStart, fileChains: fileChains, frameIndex: frameIndex)
        self.hashed = hashed
        self.buildsTree = buildsTree
        self.paths = paths
        self.threaded = threaded
        exited = !threaded
        if threaded { Thread.detachNewThread { [self] in run() } }
    }

    /// The first record whose hash does not follow, once the worker has reached it.
    var failure: ArchiveFormatError? {
        condition.lock()
        defer { condition.unlock() }
        return firstFailure
    }

    /// Copies one record (the reader's buffer is reused after the call) and hands the batch over when it is full.
    /// - Throws: the worker's failure, once it has found one in an earlier record.
    func add(_ line: UnsafeRawBufferPointer, _ fields: RecordFields, file: Int, lineNumber: Int) throws {
        filling.entries.append(Entry(start: filling.bytes.count, fields: fields, file: file, lineNumber: lineNumber))
        filling.bytes.append(contentsOf: line)
        if filling.bytes.count >= Self.batchBytes {
            handOver()
            if let failure { throw failure }
        }
    }

    /// Hands over what is left, waits for the worker to finish and returns its failure, if any.
    func stop() -> ArchiveFormatError? {
        handOver()
        condition.lock()
        closed = true
        condition.broadcast()
        while !exited { condition.wait() }
        condition.unlock()
        return firstFailure
    }

    /// ``stop()``, throwing the failure.
    func finish() throws {
        if let failure = stop() { throw failure }
    }

    private func handOver() {
        guard !filling.entries.isEmpty else { return }
        guard threaded else {
            if firstFailure == nil { firstFailure = process(filling) }
            filling.bytes.removeAll(keepingCapacity: true)
            filling.entries.removeAll(keepingCapacity: true)
            return
        }
        condition.lock()
        while queue.count >= Self.queueLimit { condition.wait() }
        queue.append(filling)
        filling = spare.popLast() ?? Batch()
        condition.broadcast()
        condition.unlock()
    }

    private func run() {
        condition.lock()
        while true {
            while queue.isEmpty && !closed { condition.wait() }
            guard !queue.isEmpty else { break }
            let batch = queue.removeFirst()
            let skip = firstFailure != nil
            condition.unlock()
            let failure = skip ? nil : process(batch)
            batch.bytes.removeAll(keepingCapacity: true)
            batch.entries.removeAll(keepingCapacity: true)
            condition.lock()
            if firstFailure == nil { firstFailure = failure }
            spare.append(batch)
            condition.broadcast()
        }
        exited = true
        condition.broadcast()
        condition.unlock()
    }

    /// Chains the batch's records; returns the first that does not follow (format 1's stored hash).
    private func process(_ batch: Batch) -> ArchiveFormatError? {
        // A local copy, moved out and back: a class property mutated per record pays a dynamic exclusivity
        // check on every access.
        var progress = Progress(chain: .genesis)
        swap(&progress, &self.progress)
        defer { swap(&progress, &self.progress) }
        return Self.chain(batch, &progress, hashed: hashed, buildsTree: buildsTree, paths: paths)
    }

    private static func chain(
        _ batch: Batch, _ progress: inout Progress, hashed: Bool, buildsTree: Bool, paths: [String]
    ) -> ArchiveFormatError? {
        let entries = batch.entries
        return batch.bytes.withUnsafeBytes { bytes in
            for (i, entry) in entries.enumerated() {
                let end = i + 1 < entries.count ? entries[i + 1].start : bytes.count
                let line = UnsafeRawBufferPointer(rebasing: bytes[entry.start..<end])
                let fields = entry.fields
                let chain = progress.chain
                let expected = chain.next(body: UnsafeRawBufferPointer(rebasing: line[0..<fields.bodyEnd]))
                let path = paths[entry.file]
                guard !hashed || RecordDecoder.hashMatches(line, fields, expected) else {
                    return ArchiveFormatError(
                        .chainMismatch,
                        "\(path) line \(entry.lineNumber) (position \(fields.position)): the record's hash does not "
                            + "follow from the previous record: the record was altered, inserted, removed or moved")
                }
                progress.fileChains?.record(path: path, before: chain, after: expected)
                progress.frameIndex?.record(file: entry.file, lineBytes: line.count, before: chain)
                progress.chain = expected
                if buildsTree { progress.tree.append(chainHash: expected) }
            }
            return nil
        }
    }
}
