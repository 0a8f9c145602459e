import Crypto
import Foundation
import TestSupport
import Testing

@testable import ArchiveFormat

@Suite struct RecordsTreeTests {
    /// RFC 6962 / Certificate Transparency reference roots for the first 1...8 of these leaf inputs.
    @Test func certificateTransparencyVectors() {
        let inputs: [[UInt8]] = [
            [], [0x00], [0x10], [0x20, 0x21], [0x30, 0x31], [0x40, 0x41, 0x42, 0x43],
            [0x50, 0x51, 0x52, 0x53, 0x54, 0x55, 0x56, 0x57],
            [0x60, 0x61, 0x62, 0x63, 0x64, 0x65, 0x66, 0x67, 0x68, 0x69, 0x6a, 0x6b, 0x6c, 0x6d, 0x6e, 0x6f],
        ]
        let roots = [
            "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
            "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
            "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
            "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
            "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
            "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
            "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
        ]
        let leaves = inputs.map { input in input.withUnsafeBytes { RecordsTree.leafHash(data: $0) } }
        #expect(RecordsTree.emptyRoot.hex == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        for n in 1...8 {
            #expect(RecordsTree.root(leaves: leaves[..<n]).hex == roots[n - 1], "tree of \(n) leaves")
            var accumulator = RecordsTree.Accumulator()
            leaves[..<n].forEach { accumulator.append(leaf: $0) }
            #expect(accumulator.root.hex == roots[n - 1], "accumulated tree of \(n) leaves")
        }
    }

    /// Reference: a direct transcription of RFC 9162's MTH and PATH in Python (hashlib), on random trees.
    @Test func matchesAReferenceImplementation() async throws {
        let script = #"""
            import hashlib, json, random, sys
            H = lambda b: hashlib.sha256(b).digest()
            def k(n):
                x = 1
                while x * 2 < n: x *= 2
                return x
            def mth(d):
                if len(d) == 0: return H(b"")
                if len(d) == 1: return H(b"\x00" + d[0])
                s = k(len(d)); return H(b"\x01" + mth(d[:s]) + mth(d[s:]))
            def path(m, d):
                if len(d) <= 1: return []
                s = k(len(d))
                return path(m, d[:s]) + [mth(d[s:])] if m < s else path(m - s, d[s:]) + [mth(d[:s])]
            rng = random.Random(int(sys.argv[1]))
            out = []
            for _ in range(60):
                n = rng.choice([1, 2, 3, 4, 5, 7, 8, 9, 15, 16, 17, 31, 33, 100, 257])
                d = [bytes(rng.getrandbits(8) for _ in range(32)) for _ in range(n)]
                idx = sorted(rng.sample(range(n), min(n, rng.randint(1, 4))))
                out.append({"data": [x.hex() for x in d], "root": mth(d).hex(),
                            "paths": {str(i): [p.hex() for p in path(i, d)] for i in idx}})
            print(json.dumps(out))
            """#
        let output = Data(try await runPython(["-c", script, "11"]))
        let cases = try #require(try JSONSerialization.jsonObject(with: output) as? [[String: Any]])
        #expect(cases.count == 60)
        for c in cases {
            let data = (c["data"] as! [String]).map { ChainHash(hex: $0)! }
            let leaves = data.map(RecordsTree.leafHash)
            var accumulator = RecordsTree.Accumulator()
            data.forEach { accumulator.append(chainHash: $0) }
            let root = accumulator.root
            #expect(root.hex == c["root"] as! String)
            let expected = c["paths"] as! [String: [String]]
            let indexes = expected.keys.map { Int($0)! }.sorted()
            let shared = RecordsTree.auditPaths(indexes: indexes, leaves: leaves)
            for i in indexes {
                let path = RecordsTree.auditPath(index: i, leaves: leaves[...])
                #expect(path.map(\.hex) == expected[String(i)]!)
                #expect(shared[i]! == path)
                #expect(RecordsTree.root(leaf: leaves[i], index: i, size: leaves.count, path: path) == root)
                // A wrong index, size, leaf or path never leads to the root.
                if leaves.count > 1 {
                    #expect(
                        RecordsTree.root(leaf: leaves[i], index: (i + 1) % leaves.count, size: leaves.count, path: path)
                            != root)
                    #expect(
                        RecordsTree.root(leaf: leaves[(i + 1) % leaves.count], index: i, size: leaves.count, path: path)
                            != root)
                    #expect(
                        RecordsTree.root(leaf: leaves[i], index: i, size: leaves.count, path: path.dropLast() + [])
                            != root)
                }
                // (The tree size is not bound by the path alone: the manifest commits to it as the event count.)
            }
        }
    }
}
