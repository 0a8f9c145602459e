import Foundation
import Lode
import Testing

/// The ObjectStore contract, run against both implementations.
@Suite struct ObjectStoreTests {
    @Test(arguments: StoreKind.allCases)
    func putIsCreateOnlyAndKeepsTheFirstObject(kind: StoreKind) async throws {
        try await kind.withStore { (store: any ObjectStore) async throws in
            try await store.put("a/b/c", bytes("first"))
            let error = await expectLodeError(.pathExists) { try await store.put("a/b/c", bytes("second!")) }
            #expect(error?.key == "a/b/c")
            #expect(try await store.get("a/b/c") == bytes("first"))
            #expect(try await store.head("a/b/c") == ObjectInfo(key: "a/b/c", size: 5))
        }
    }

    @Test(arguments: StoreKind.allCases)
    func getOfMissingKeyIsNotFound(kind: StoreKind) async throws {
        try await kind.withStore { (store: any ObjectStore) async throws in
            let error = await expectLodeError(.notFound) { try await store.get("missing/key") }
            #expect(error?.key == "missing/key")
            #expect(try await store.head("missing/key") == nil)
            #expect(try await store.exists("missing/key") == false)
            await expectLodeError(.notFound) { try await store.openReader("missing/key") }
            await expectLodeError(.notFound) { try await store.getRange("missing/key", offset: 0, length: 1) }
        }
    }

    @Test(arguments: StoreKind.allCases)
    func invalidKeysAreRejected(kind: StoreKind) async throws {
        try await kind.withStore { (store: any ObjectStore) async throws in
            for key in ["", "/abs", "a//b", "a/./b", "a/../b", "..", ".", "a/", "a/b/.."] {
                await expectLodeError(.invalidPath) { try await store.put(key, [1]) }
                await expectLodeError(.invalidPath) { try await store.get(key) }
            }
            await expectLodeError(.invalidPath) { try await store.list(prefix: "/x") }
            await expectLodeError(.invalidPath) { try await store.list(prefix: "a/../") }
        }
    }

    /// §5.6 range semantics.
    @Test(arguments: StoreKind.allCases)
    func rangeReads(kind: StoreKind) async throws {
        try await kind.withStore { (store: any ObjectStore) async throws in
            try await store.put("r", bytes("0123456789"))
            #expect(try await store.getRange("r", offset: 2, length: 3) == bytes("234"))
            #expect(try await store.getRange("r", offset: 8, length: 10) == bytes("89"))
            #expect(try await store.getRange("r", offset: 10, length: 1) == [])
            #expect(try await store.getRange("r", offset: 50, length: 1) == [])
            #expect(try await store.getRange("r", offset: 3, length: 0) == [])
            await expectLodeError(.invalidPath) { try await store.getRange("r", offset: -1, length: 1) }
            await expectLodeError(.invalidPath) { try await store.getRange("r", offset: 0, length: -1) }
            await expectLodeError(.invalidPath) { try await store.getRange("r", offset: .max, length: 1) }
        }
    }

    @Test(arguments: StoreKind.allCases)
    func streamingReader(kind: StoreKind) async throws {
        try await kind.withStore { (store: any ObjectStore) async throws in
            let payload = (0..<100_000).map { UInt8(truncatingIfNeeded: $0 &* 31) }
            try await store.put("big", payload)
            let reader = try await store.openReader("big")
            #expect(reader.size == 100_000)
            var collected: [UInt8] = []
            var buffer: [UInt8] = []
            while true {
                let count = try await reader.read(into: &buffer, upTo: 7_777)
                if count == 0 { break }
                #expect(buffer.count == count)
                collected += buffer
            }
            expectSameBytes(collected, payload)
            #expect(try await reader.read(upTo: 10) == [])
            let second = try await store.openReader("big")
            #expect(try await second.read(upTo: 3) == Array(payload[0..<3]))
            #expect(try await second.read(upTo: 3) == Array(payload[3..<6]))
        }
    }

    @Test(arguments: StoreKind.allCases)
    func listIsPrefixFilteredAndSortedByBytes(kind: StoreKind) async throws {
        try await kind.withStore { (store: any ObjectStore) async throws in
            for key in [
                "datasets/b/x", "datasets/a/z", "datasets/a/y/1", "datasets/ab", "datasets/é", "datasets/Z", "other",
            ] {
                try await store.put(key, bytes(key))
            }
            let all = try await store.list(prefix: "").map(\.key)
            #expect(
                all == [
                    "datasets/Z", "datasets/a/y/1", "datasets/a/z", "datasets/ab", "datasets/b/x", "datasets/é",
                    "other",
                ])
            #expect(try await store.list(prefix: "datasets/a/").map(\.key) == ["datasets/a/y/1", "datasets/a/z"])
            #expect(
                try await store.list(prefix: "datasets/a").map(\.key) == [
                    "datasets/a/y/1", "datasets/a/z", "datasets/ab",
                ])
            #expect(try await store.list(prefix: "nothing/").isEmpty)
            #expect(try await store.list(prefix: "datasets/b/x").map(\.size) == [12])
        }
    }

    /// Differential: a start-after listing is the full prefix listing without the keys at or before `startAfter`,
    /// for names around `/` in byte order (`-` and `.` sort before it, `0` after) and bounds inside a name.
    @Test(arguments: StoreKind.allCases)
    func startAfterListingIsTheFilteredFullListing(kind: StoreKind) async throws {
        try await kind.withStore { (store: any ObjectStore) async throws in
            let keys = [
                "d/s/01/m", "d/s/01/data/x", "d/s/01-b/m", "d/s/01.c", "d/s/010/m", "d/s/02/m", "d/s/02/z/y",
                "d/s/1", "d/s/é/m", "d/t", "e/s/01/m",
            ]
            for key in keys { try await store.put(key, bytes(key)) }
            let bounds = [
                "", "d/", "d/s/", "d/s/0", "d/s/01", "d/s/01/", "d/s/01/m", "d/s/01-", "d/s/01/data", "d/s/01/zzz",
                "d/s/010", "d/s/02/m", "d/s/1", "d/s/é", "d/u", "z",
            ]
            for prefix in ["", "d/", "d/s/", "d/s/0", "d/s/01", "d/s/01/", "e/"] {
                let all = try await store.list(prefix: prefix).map(\.key)
                for startAfter in bounds {
                    let expected = all.filter { ObjectKey.byteOrder(startAfter, $0) }
                    let listed = try await store.list(prefix: prefix, startAfter: startAfter).map(\.key)
                    #expect(listed == expected, "prefix '\(prefix)' after '\(startAfter)'")
                }
            }
        }
    }

    @Test(arguments: StoreKind.allCases)
    func deleteIsIdempotent(kind: StoreKind) async throws {
        try await kind.withStore { (store: any ObjectStore) async throws in
            try await store.put("k", [1])
            try await store.delete("k")
            try await store.delete("k")
            #expect(try await store.exists("k") == false)
            try await store.put("k", [2])  // create-only again after delete
            #expect(try await store.get("k") == [2])
        }
    }

    /// §4.3 CAS rule.
    @Test(arguments: StoreKind.allCases)
    func compareAndSwap(kind: StoreKind) async throws {
        try await kind.withStore { (store: any ObjectStore) async throws in
            // Missing key, non-empty expected: conflict.
            await expectLodeError(.snapshotConflict) {
                try await store.compareAndSwap("ds/latest", expected: "1", replacement: "2")
            }
            #expect(try await store.exists("ds/latest") == false)
            // Missing key, empty expected: create.
            try await store.compareAndSwap("ds/latest", expected: "", replacement: "1")
            #expect(try await store.get("ds/latest") == bytes("1"))
            // Matching content: replace.
            try await store.compareAndSwap("ds/latest", expected: "1", replacement: "2")
            #expect(try await store.get("ds/latest") == bytes("2"))
            // Stale expectation: conflict, content unchanged.
            let error = await expectLodeError(.snapshotConflict) {
                try await store.compareAndSwap("ds/latest", expected: "1", replacement: "3")
            }
            #expect(error?.actual == "2")
            #expect(try await store.get("ds/latest") == bytes("2"))
            // Existing key with empty expected: conflict (content is not empty).
            await expectLodeError(.snapshotConflict) {
                try await store.compareAndSwap("ds/latest", expected: "", replacement: "4")
            }
            // Raw comparison: a trailing newline is part of the content (Go compares raw bytes).
            try await store.compareAndSwap("ds/latest", expected: "2", replacement: "5\n")
            await expectLodeError(.snapshotConflict) {
                try await store.compareAndSwap("ds/latest", expected: "5", replacement: "6")
            }
            try await store.compareAndSwap("ds/latest", expected: "5\n", replacement: "6")
            #expect(try await store.get("ds/latest") == bytes("6"))
        }
    }

    @Test(arguments: StoreKind.allCases)
    func concurrentCASHasOneWinnerPerRound(kind: StoreKind) async throws {
        try await kind.withStore { (store: any ObjectStore) async throws in
            try await store.compareAndSwap("p", expected: "", replacement: "0")
            let winners = try await withThrowingTaskGroup(of: Bool.self) { group in
                for index in 1...16 {
                    group.addTask {
                        do {
                            try await store.compareAndSwap("p", expected: "0", replacement: "\(index)")
                            return true
                        } catch let error as LodeError where error.code == .snapshotConflict {
                            return false
                        }
                    }
                }
                return try await group.reduce(0) { $0 + ($1 ? 1 : 0) }
            }
            #expect(winners == 1)
        }
    }

    @Test(arguments: StoreKind.allCases)
    func concurrentPutsHaveOneWinner(kind: StoreKind) async throws {
        try await kind.withStore { (store: any ObjectStore) async throws in
            let results = try await withThrowingTaskGroup(of: (Int, Bool).self) { group in
                for index in 0..<16 {
                    group.addTask {
                        do {
                            try await store.put("race/key", Array(repeating: UInt8(index), count: 4096))
                            return (index, true)
                        } catch let error as LodeError where error.code == .pathExists {
                            return (index, false)
                        }
                    }
                }
                return try await group.reduce(into: [(Int, Bool)]()) { $0.append($1) }
            }
            let winners = results.filter(\.1)
            #expect(winners.count == 1)
            let winner = try #require(winners.first).0
            #expect(try await store.get("race/key") == Array(repeating: UInt8(winner), count: 4096))
        }
    }

    @Test(arguments: StoreKind.allCases)
    func putFilePublishesALocalFile(kind: StoreKind) async throws {
        try await withTemporaryDirectory { dir in
            let local = dir + "/local.bin"
            let payload = (0..<300_000).map { UInt8(truncatingIfNeeded: $0 &* 7) }
            try Data(payload).write(to: URL(fileURLWithPath: local))
            try await kind.withStore { (store: any ObjectStore) async throws in
                try await store.putFile("x/y/data.zst", fromLocalFile: local)
                expectSameBytes(try await store.get("x/y/data.zst"), payload)
                let error = await expectLodeError(.pathExists) {
                    try await store.putFile("x/y/data.zst", fromLocalFile: local)
                }
                #expect(error?.key == "x/y/data.zst")
            }
        }
    }
}

/// FileStore specifics: durability protocol, temporary names, cross-filesystem publish, Go's lock file.
@Suite struct FileStoreTests {
    @Test func temporaryFilesAreNeverListedOrVisibleUnderTheFinalKey() async throws {
        try await withTemporaryDirectory { dir in
            let store = FileStore(root: dir)
            try await store.put("d/s/manifest.json", bytes("{}"))
            // A crash mid-put leaves a temporary file; a crashed Go CAS leaves .lode-cas-*.
            try Data("half-writ".utf8).write(to: URL(fileURLWithPath: dir + "/d/s/.lode-put-0123456789abcdef"))
            try Data("7".utf8).write(to: URL(fileURLWithPath: dir + "/d/.lode-cas-42"))
            #expect(try await store.list(prefix: "").map(\.key) == ["d/s/manifest.json"])
            #expect(try await store.list(prefix: "d/s/").map(\.key) == ["d/s/manifest.json"])
            // Nothing is left behind by successful puts.
            let names = try FileManager.default.contentsOfDirectory(atPath: dir + "/d/s").sorted()
            #expect(names == [".lode-put-0123456789abcdef", "manifest.json"])
            await expectLodeError(.invalidPath) { try await store.put("d/.lode-put-x", [1]) }
        }
    }

    @Test func casUsesGoLockFileAndAtomicRename() async throws {
        try await withTemporaryDirectory { dir in
            let store = FileStore(root: dir)
            try await store.compareAndSwap("datasets/o/latest", expected: "", replacement: "17")
            let names = try FileManager.default.contentsOfDirectory(atPath: dir + "/datasets/o").sorted()
            #expect(names == ["latest", "latest.lock"])
            #expect(try Data(contentsOf: URL(fileURLWithPath: dir + "/datasets/o/latest")) == Data("17".utf8))
        }
    }

    @Test func putFileCopiesAcrossFilesystemsAndLinksOnTheSameOne() async throws {
        try await withTemporaryDirectory { dir in
            let store = FileStore(root: dir + "/store")
            let local = dir + "/staged"
            try Data("payload".utf8).write(to: URL(fileURLWithPath: local))
            try await store.putFile("k", fromLocalFile: local)
            let attributes = try FileManager.default.attributesOfItem(atPath: dir + "/store/k")
            // Same filesystem: a hard link (two names, one inode).
            #expect((attributes[.referenceCount] as? Int) == 2)
            // /dev/shm is another filesystem when present: the copy path.
            if FileManager.default.fileExists(atPath: "/dev/shm") {
                let shmFile = "/dev/shm/lode-test-\(UUID().uuidString)"
                try Data("from shm".utf8).write(to: URL(fileURLWithPath: shmFile))
                defer { try? FileManager.default.removeItem(atPath: shmFile) }
                try await store.putFile("k2", fromLocalFile: shmFile)
                #expect(try await store.get("k2") == bytes("from shm"))
                let names = try FileManager.default.contentsOfDirectory(atPath: dir + "/store")
                #expect(!names.contains { $0.hasPrefix(".lode-put-") })
            }
        }
    }

    @Test func listNeverFollowsDirectorySymlinks() async throws {
        try await withTemporaryDirectory { dir in
            let store = FileStore(root: dir)
            try await store.put("a/b/object", [1, 2])
            // A loop back to the root and a link to a file.
            try FileManager.default.createSymbolicLink(atPath: dir + "/a/b/loop", withDestinationPath: dir)
            try FileManager.default.createSymbolicLink(
                atPath: dir + "/a/alias", withDestinationPath: dir + "/a/b/object")
            let listed = try await store.list(prefix: "")
            #expect(listed == [ObjectInfo(key: "a/alias", size: 2), ObjectInfo(key: "a/b/object", size: 2)])
        }
    }

    @Test func aDirectoryIsNotAnObject() async throws {
        try await withTemporaryDirectory { dir in
            let store = FileStore(root: dir)
            try await store.put("a/b", [1])
            #expect(try await store.head("a") == nil)
            await expectLodeError(.notFound) { try await store.get("a") }
        }
    }
}
