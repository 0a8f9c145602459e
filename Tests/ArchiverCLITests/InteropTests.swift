import Foundation
import Testing

/// Runs a shell command in `dir`; returns (status, stdout, stderr).
func shell(_ command: String, in dir: String) async throws -> (status: Int32, out: String, err: String) {
    try await withCheckedThrowingContinuation { continuation in
        Thread.detachNewThread {
            do {
                let process = Process()
                process.executableURL = URL(fileURLWithPath: "/bin/sh")
                process.arguments = ["-c", command]
                process.currentDirectoryURL = URL(fileURLWithPath: dir)
                let out = Pipe()
                let err = Pipe()
                process.standardOutput = out
                process.standardError = err
                try process.run()
                let outBytes = out.fileHandleForReading.readDataToEndOfFile()
                let errBytes = err.fileHandleForReading.readDataToEndOfFile()
                process.waitUntilExit()
                continuation.resume(
                    returning: (
                        process.terminationStatus, String(decoding: outBytes, as: UTF8.self),
                        String(decoding: errBytes, as: UTF8.self)
                    ))
            } catch {
                continuation.resume(throwing: error)
            }
        }
    }
}

/// The archive is plain data: other tools read it without this program.
@Suite struct InteropTests {
    /// Two categories (account, order) so hive partition pruning can be observed.
    func makeArchive(in dir: String) async throws {
        try await CLI.ok(["init"], in: dir)
        try await CLI.ok(["append"], in: dir, input: bankEvents(events: 3_000, accounts: 60, seed: 4))
        let orders = (0..<1_000).map { i in
            #"{"stream":"order-\#(i % 40)","type":"OrderPlaced","data":{"amount":\#(i % 97),"sku":"s\#(i)"}}"#
        }.joined(separator: "\n")
        try await CLI.ok(["append"], in: dir, input: orders + "\n")
        try await CLI.ok(["flush", "--target-size", "256KiB", "--quiet"], in: dir)
    }

    /// Whether Python's duckdb module is installed (`make deps` installs it).
    static let hasDuckDB: Bool = {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", "-c", "import duckdb"]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        guard (try? process.run()) != nil else { return false }
        process.waitUntilExit()
        return process.terminationStatus == 0
    }()

    @Test(.enabled(if: InteropTests.hasDuckDB, "needs Python's duckdb: run make deps"))
    func duckDBReadsTheArchiveAndPrunesPartitions() async throws {
        try await withTemporaryDirectory { dir in
            try await makeArchive(in: dir)
            // The reference: per-stream counts and sums from the hot store.
            var expected: [String: (count: Int, sum: Int)] = [:]
            for e in try await hotEvents(in: dir) {
                let stream = e["stream"] as! String
                expected[stream, default: (0, 0)].count += 1
                expected[stream, default: (0, 0)].sum += ((e["data"] as! [String: Any])["amount"] as! Int)
            }
            let script = """
                import duckdb, json, sys
                cols = "{position:'BIGINT', stream:'VARCHAR', version:'BIGINT', id:'VARCHAR', type:'VARCHAR', recorded_at:'VARCHAR', data:'JSON', metadata:'JSON', hash:'VARCHAR'}"
                src = f"read_json('archive/datasets/events/partitions/**/data/data*.zst', format='newline_delimited', compression='zstd', hive_partitioning=true, columns={cols})"
                where = sys.argv[1]
                rows = duckdb.sql(f"SELECT stream, count(*), sum(CAST(data->>'amount' AS BIGINT)) FROM {src} {where} GROUP BY stream").fetchall()
                print(json.dumps({r[0]: [r[1], r[2]] for r in rows}))
                """
            try script.write(toFile: dir + "/q.py", atomically: true, encoding: .utf8)
            let all = try await shell("python3 q.py ''", in: dir)
            #expect(all.status == 0, "\(all.err)")
            let result = try JSONSerialization.jsonObject(with: Data(all.out.utf8)) as! [String: [Int]]
            #expect(result.count == expected.count)
            for (stream, value) in expected {
                #expect(result[stream] == [value.count, value.sum], "\(stream)")
            }
            // Pruning: with every account object replaced by garbage, a query filtered to category=order still
            // succeeds (it never opens them), while an unfiltered one fails.
            _ = try await shell(
                "for f in $(find archive -path '*category=account*' -name 'data*.zst'); do chmod u+w $f; "
                    + "echo garbage > $f; done", in: dir)
            let orders = try await shell("python3 q.py \"WHERE category = 'order'\"", in: dir)
            #expect(orders.status == 0, "\(orders.err)")
            let orderResult = try JSONSerialization.jsonObject(with: Data(orders.out.utf8)) as! [String: [Int]]
            #expect(orderResult.count == 40)
            #expect(orderResult.keys.allSatisfy { $0.hasPrefix("order-") })
            #expect(orderResult.values.map { $0[0] }.reduce(0, +) == 1_000)
            let unfiltered = try await shell("python3 q.py ''", in: dir)
            #expect(unfiltered.status != 0, "reading the garbage objects must fail")
        }
    }

    @Test func zstdcatAndJqReadAnySegment() async throws {
        try await withTemporaryDirectory { dir in
            try await makeArchive(in: dir)
            let segments = try await shell("find archive -name 'data*.zst' | sort", in: dir).out.split(separator: "\n")
            #expect(segments.count >= 2)
            var total = 0
            for segment in segments {
                let r = try await shell("zstdcat '\(segment)' | jq -c '[.position, .stream, .data.amount]'", in: dir)
                #expect(r.status == 0, "\(r.err)")
                total += r.out.split(separator: "\n").count
            }
            #expect(total == 4_000)
        }
    }
}
