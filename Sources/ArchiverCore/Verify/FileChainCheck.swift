import ArchiveFormat
import Lode

/// Checks a snapshot's per-file chain values (``FileChain``, format 2) while its files are read merged in
/// position order: each file's first record must follow the chain value the manifest records before it, and its
/// last record must end at the recorded value. A file swapped with another, or an edited chain value, fails here.
struct FileChainCheck {
    private let snapshotID: String
    private let expected: [FileChain]
    private let indexOfPath: [String: Int]
    private var found: [FileChain?]
    private var lastPath = ""
    private var lastIndex = -1

    /// Nil when the snapshot records no per-file chains (format 1) or when only some of its files are read.
    init?(_ cut: CutPoint, partial: Bool) {
        guard !partial, let chains = cut.facts.fileChains else { return nil }
        snapshotID = cut.snapshotID
        expected = chains
        var index: [String: Int] = [:]
        for (i, file) in cut.manifest.files.enumerated() { index[file.path] = i }
        indexOfPath = index
        found = Array(repeating: nil, count: chains.count)
    }

    /// Notes one record of `path`: the chain value before it and its own.
    mutating func record(path: String, before: ChainHash, after: ChainHash) {
        // Records come in runs from one file: look its index up only when the file changes.
        if path != lastPath {
            lastPath = path
            lastIndex = indexOfPath[path] ?? -1
        }
        guard lastIndex >= 0, lastIndex < found.count else { return }
        if found[lastIndex] == nil {
            found[lastIndex] = FileChain(start: before, head: after)
        } else {
            found[lastIndex]!.head = after
        }
    }

    /// Throws when a file's chain values differ from the manifest's, or the manifest lists another file count.
    func check() throws(ArchiveFormatError) {
        guard expected.count == indexOfPath.count else {
            throw ArchiveFormatError(
                .chainMismatch,
                "snapshot \(snapshotID) records chain values for \(expected.count) files, but lists "
                    + "\(indexOfPath.count): its manifest metadata was altered")
        }
        for (path, index) in indexOfPath.sorted(by: { $0.value < $1.value }) {
            guard let chain = found[index] else { continue }
            for (what, actual, stated) in [
                ("starts", chain.start, expected[index].start), ("ends", chain.head, expected[index].head),
            ] where actual != stated {
                throw ArchiveFormatError(
                    .chainMismatch,
                    "\(path): its records' chain \(what) at \(actual.hex.prefix(16))…, but snapshot \(snapshotID)'s "
                        + "manifest records \(stated.hex.prefix(16))… for this file: the file was replaced or "
                        + "swapped, or the manifest's file chain values were altered")
            }
        }
    }
}
