import ArchiveFormat
import Foundation

/// Recomputes one snapshot's hash chain on a thread of its own while the reader delivers its records.
///
/// The chain is sequential (each value hashes the one before), but it does not have to run on the reader's thread:
/// the reader copies each record into a batch and hands full batches over, so the chain, the records tree and the
/// per-file and per-frame chain values are computed on the other core while the projection folds. The reader
/// rechecks ``failure`` at each hand-over and, when anything fails, waits for the batches already handed over
/// (``stop()``): a record whose hash does not follow is reported before any error at a later record, as when the
/// chain ran inline.
final class ChainWorker: @unchecked Sendable {
    /// A record copied into a batch: where its line starts in the batch's bytes, and what the checks need.
    private struct Entry {
        var start: Int
        var fields: RecordFields
        var file: Int
        var lineNumber: Int
    }

    /// Records handed over together; reused once the worker is done with it.
    private final class Batch {
        var bytes: [UInt8] = []
        var entries: [Entry] = []

        init() {
            bytes.reserveCapacity(ChainWorker.batchBytes + (1 << 12))
        }
    }

    /// Record bytes per hand-over: large enough that the lock is taken rarely, small enough that the reader does
    /// not deliver many records past a broken one before it hears of it.
    static let batchBytes = 1 << 16
    /// Batches waiting for the worker before the reader waits in turn (memory stays at a few batches).
    private static let queueLimit = 4

    private(set) var chain: ChainHash
    private(set) var tree = RecordsTree.Accumulator()
    private(set) var fileChains: FileChainCheck?
    private(set) var frameIndex: FrameIndexCheck?
    private let hashed: Bool
    private let buildsTree: Bool
    private let paths: [String]

    private let condition = NSCondition()
    private var queue: [Batch] = []
    private var spare: [Batch] = []
    private var closed = false
    private var exited = false
    private var firstFailure: ArchiveFormatError?
    /// The reader's batch being filled (touched only by the reader).
    private var filling = Batch()

    /// Starts the worker thread.
    /// - Parameters:
    ///   - chainStart: the chain value before the snapshot's first record.
    ///   - hashed: format 1, whose records carry their own chain value to compare.
    ///   - buildsTree: the manifest records a records root to recompute.
    init(
        chainStart: ChainHash, hashed: Bool, buildsTree: Bool, paths: [String], fileChains: FileChainCheck?,
        frameIndex: FrameIndexCheck?
    ) {
        chain = chainStart
        self.hashed = hashed
        self.buildsTree = buildsTree
        self.paths = paths
        self.fileChains = fileChains
        self.frameIndex = frameIndex
        Thread.detachNewThread { [self] in run() }
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
        batch.bytes.withUnsafeBytes { bytes in
            for (i, entry) in batch.entries.enumerated() {
                let end = i + 1 < batch.entries.count ? batch.entries[i + 1].start : bytes.count
                let line = UnsafeRawBufferPointer(rebasing: bytes[entry.start..<end])
                let fields = entry.fields
                let expected = chain.next(body: UnsafeRawBufferPointer(rebasing: line[0..<fields.bodyEnd]))
                let path = paths[entry.file]
                guard !hashed || RecordDecoder.hashMatches(line, fields, expected) else {
                    return ArchiveFormatError(
                        .chainMismatch,
                        "\(path) line \(entry.lineNumber) (position \(fields.position)): the record's hash does not "
                            + "follow from the previous record: the record was altered, inserted, removed or moved")
                }
                fileChains?.record(path: path, before: chain, after: expected)
                frameIndex?.record(file: entry.file, lineBytes: line.count, before: chain)
                chain = expected
                if buildsTree { tree.append(chainHash: expected) }
            }
            return nil
        }
    }
}
