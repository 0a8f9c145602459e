import Crypto

/// The Merkle tree over a snapshot's records that makes single events provable (docs/FORMAT.md "Records
/// tree").
///
/// The tree is RFC 9162's (Certificate Transparency v2, §2.1.1) with each record's chain hash as the leaf
/// data, in position order: `leaf = SHA-256(0x00 ‖ chain hash)`, `node = SHA-256(0x01 ‖ left ‖ right)`, and a
/// tree of n > 1 leaves splits at the largest power of two below n. Its root goes into the manifest metadata
/// (`archiver.records_root`), which the manifest signature covers, so an exported event is proven by its
/// record line, the previous record's chain hash and an audit path of about log2(n) hashes, without revealing
/// any other event.
///
/// ```swift
/// var tree = RecordsTree.Accumulator()
/// for hash in chainHashes { tree.append(chainHash: hash) }
/// let root = tree.root
/// let path = RecordsTree.auditPath(index: 3, leaves: chainHashes.map(RecordsTree.leafHash))
/// assert(RecordsTree.root(leaf: RecordsTree.leafHash(chainHashes[3]), index: 3, size: chainHashes.count,
///                         path: path) == root)
/// ```
public enum RecordsTree {
    /// The root of the empty tree: SHA-256 of nothing.
    public static var emptyRoot: ChainHash { ChainHash(digest: SHA256.hash(data: [UInt8]())) }

    /// `SHA-256(0x00 ‖ data)`.
    public static func leafHash(data: UnsafeRawBufferPointer) -> ChainHash {
        var hasher = SHA256()
        hasher.update(data: [0])
        hasher.update(bufferPointer: data)
        return ChainHash(digest: hasher.finalize())
    }

    /// The leaf of a record: `SHA-256(0x00 ‖ its 32-byte chain hash)`.
    public static func leafHash(_ chainHash: ChainHash) -> ChainHash {
        hash(prefix: 0, chainHash, nil)
    }

    /// `SHA-256(0x01 ‖ left ‖ right)`.
    public static func nodeHash(_ left: ChainHash, _ right: ChainHash) -> ChainHash {
        hash(prefix: 1, left, right)
    }

    /// SHA-256 of `prefix ‖ first ‖ second` (33 or 65 bytes) in one update: the tree hashes two short inputs
    /// per record, so each call into the digest counts.
    @inline(__always)
    private static func hash(prefix: UInt8, _ first: ChainHash, _ second: ChainHash?) -> ChainHash {
        var block: (UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64) = (
            0, 0, 0, 0, 0, 0, 0, 0, 0
        )
        return withUnsafeMutableBytes(of: &block) { raw in
            raw[0] = prefix
            first.write(to: raw.baseAddress! + 1)
            second?.write(to: raw.baseAddress! + 33)
            var hasher = SHA256()
            hasher.update(bufferPointer: UnsafeRawBufferPointer(rebasing: raw[..<(second == nil ? 33 : 65)]))
            return ChainHash(digest: hasher.finalize())
        }
    }

    /// Builds the root leaf by leaf in O(log n) memory: the tree of n leaves is the perfect subtrees of
    /// n's binary digits, largest first, joined from the right.
    public struct Accumulator: Sendable {
        /// Roots of perfect subtrees, largest first; `sizes[i]` is the leaf count of `stack[i]`.
        private var stack: [ChainHash] = []
        private var sizes: [Int] = []
        public private(set) var count = 0

        public init() {}

        public mutating func append(chainHash: ChainHash) {
            append(leaf: RecordsTree.leafHash(chainHash))
        }

        public mutating func append(leaf: ChainHash) {
            var node = leaf
            var size = 1
            while let last = sizes.last, last == size {
                node = RecordsTree.nodeHash(stack.removeLast(), node)
                sizes.removeLast()
                size *= 2
            }
            stack.append(node)
            sizes.append(size)
            count += 1
        }

        public var root: ChainHash {
            guard var node = stack.last else { return RecordsTree.emptyRoot }
            for left in stack.dropLast().reversed() { node = RecordsTree.nodeHash(left, node) }
            return node
        }
    }

    /// The root of `leaves` (leaf hashes).
    public static func root(leaves: ArraySlice<ChainHash>) -> ChainHash {
        switch leaves.count {
        case 0: return emptyRoot
        case 1: return leaves.first!
        default:
            let k = largestPowerOfTwo(below: leaves.count)
            let mid = leaves.startIndex + k
            return nodeHash(root(leaves: leaves[..<mid]), root(leaves: leaves[mid...]))
        }
    }

    /// RFC 9162 §2.1.3.1: the audit path of leaf `index` in the tree of `leaves` (leaf hashes), nearest
    /// sibling first.
    public static func auditPath(index: Int, leaves: ArraySlice<ChainHash>) -> [ChainHash] {
        precondition(index >= 0 && index < leaves.count, "leaf index out of range")
        guard leaves.count > 1 else { return [] }
        let k = largestPowerOfTwo(below: leaves.count)
        let mid = leaves.startIndex + k
        if index < k {
            return auditPath(index: index, leaves: leaves[..<mid]) + [root(leaves: leaves[mid...])]
        }
        return auditPath(index: index - k, leaves: leaves[mid...]) + [root(leaves: leaves[..<mid])]
    }

    /// All audit paths of the selected leaf indexes (ascending), sharing the subtree roots between them:
    /// O(n) hashing for the whole snapshot instead of O(n) per path.
    public static func auditPaths(indexes: [Int], leaves: [ChainHash]) -> [Int: [ChainHash]] {
        var paths: [Int: [ChainHash]] = [:]
        func walk(_ range: Range<Int>, _ selected: ArraySlice<Int>) -> ChainHash {
            if range.count == 1 {
                for i in selected { paths[i] = [] }
                return leaves[range.lowerBound]
            }
            let mid = range.lowerBound + largestPowerOfTwo(below: range.count)
            let split = selected.firstIndex { $0 >= mid } ?? selected.endIndex
            let left = selected[..<split]
            let right = selected[split...]
            let leftRoot =
                left.isEmpty ? root(leaves: leaves[range.lowerBound..<mid]) : walk(range.lowerBound..<mid, left)
            let rightRoot =
                right.isEmpty ? root(leaves: leaves[mid..<range.upperBound]) : walk(mid..<range.upperBound, right)
            for i in left { paths[i]!.append(rightRoot) }
            for i in right { paths[i]!.append(leftRoot) }
            return nodeHash(leftRoot, rightRoot)
        }
        if !leaves.isEmpty && !indexes.isEmpty { _ = walk(0..<leaves.count, indexes[...]) }
        return paths
    }

    /// RFC 9162 §2.1.3.2: the root that `path` leads to from leaf `index` of a tree of `size` leaves, or nil
    /// when the path has the wrong length for that position.
    public static func root(leaf: ChainHash, index: Int, size: Int, path: [ChainHash]) -> ChainHash? {
        guard index >= 0, index < size else { return nil }
        var fn = index
        var sn = size - 1
        var r = leaf
        for p in path {
            if sn == 0 { return nil }
            if fn & 1 == 1 || fn == sn {
                r = nodeHash(p, r)
                if fn & 1 == 0 {
                    while fn & 1 == 0 && fn != 0 {
                        fn >>= 1
                        sn >>= 1
                    }
                }
            } else {
                r = nodeHash(r, p)
            }
            fn >>= 1
            sn >>= 1
        }
        return sn == 0 ? r : nil
    }

    /// The largest power of two strictly below `n` (n ≥ 2).
    static func largestPowerOfTwo(below n: Int) -> Int {
        var k = 1
        while k << 1 < n { k <<= 1 }
        return k
    }
}
