import ArchiverCore
import Foundation
import Testing

/// Rows written to a sink as they are made (``ReplayJob/run(plan:into:progress:)``) are the rows a replay
/// builds, byte for byte, for every kind of projection.
@Suite struct RowStreamTests {
    static func temporaryPath() -> String { NSTemporaryDirectory() + "rows-\(UUID().uuidString).jsonl" }

    @Test(arguments: [ProjectionSpec.fold, .sum(field: "amount"), .exec(command: "cat")])
    func streamedRowsAreTheBuiltRows(spec: ProjectionSpec) async throws {
        try await TestArchive.with(bytesPerSnapshot: 4_096) { test in
            try await test.append(400, streams: 60)
            try await test.flush(checkpointEvery: 0)
            let archive = try test.archive()
            let plan = try await archive.plan(to: CutSelector(parsing: "latest"))
            let job = ReplayJob(replayer: Replayer(archive: archive), projection: spec)
            let built = try await job.run(plan: plan)
            let path = Self.temporaryPath()
            defer { try? FileManager.default.removeItem(atPath: path) }
            let streamed = try await job.run(plan: plan, into: JSONLinesSink(path: path))
            #expect(streamed.rows.isEmpty)
            #expect(streamed.rowCount == built.rows.count && built.rowCount == built.rows.count)
            #expect(built.rows.count == (spec == .exec(command: "cat") ? 400 : 60))
            let expected = built.rows.map { $0.json + "\n" }.joined()
            #expect(try String(contentsOfFile: path, encoding: .utf8) == expected)
        }
    }

    /// A run that also saves an aggregate snapshot writes the same rows it saved.
    @Test func savingASnapshotStillWritesTheRows() async throws {
        try await TestArchive.with(bytesPerSnapshot: 4_096) { test in
            try await test.append(120, streams: 30)
            try await test.flush(checkpointEvery: 0)
            let archive = try test.archive()
            let plan = try await archive.plan(to: CutSelector(parsing: "latest"))
            var job = ReplayJob(replayer: Replayer(archive: archive), projection: .fold)
            let built = try await job.run(plan: plan)
            job.saveSnapshot = true
            let path = Self.temporaryPath()
            defer { try? FileManager.default.removeItem(atPath: path) }
            let streamed = try await job.run(plan: plan, into: JSONLinesSink(path: path))
            #expect(streamed.saved?.rows == 30 && streamed.rowCount == 30)
            #expect(try String(contentsOfFile: path, encoding: .utf8) == built.rows.map { $0.json + "\n" }.joined())
        }
    }

    /// An `--exec` projector's bad line fails the replay before the sink has written a row: the file keeps
    /// its old contents.
    @Test func aBadExecLineLeavesTheOutputFileAsItWas() async throws {
        try await TestArchive.with { test in
            try await test.append(5)
            try await test.flush(checkpointEvery: 0)
            let archive = try test.archive()
            let plan = try await archive.plan(to: CutSelector(parsing: "latest"))
            let command = #"cat; echo 'not json'"#
            let job = ReplayJob(replayer: Replayer(archive: archive), projection: .exec(command: command))
            let path = Self.temporaryPath()
            defer { try? FileManager.default.removeItem(atPath: path) }
            try Data("old\n".utf8).write(to: URL(fileURLWithPath: path))
            let error = await #expect(throws: ArchiverError.self) {
                try await job.run(plan: plan, into: JSONLinesSink(path: path))
            }
            #expect(error?.code == .projectionFailed)
            #expect(error?.message.contains("printed a line that is not JSON (line 6)") == true)
            #expect(try String(contentsOfFile: path, encoding: .utf8) == "old\n")
        }
    }

    /// A sink that only takes built rows gets them all through the default ``RowSink/write(_:)-(RowStream)``.
    @Test func aSinkWithoutStreamingGetsTheRowsBuilt() throws {
        final class Recorder: RowSink, @unchecked Sendable {
            var rows: [ProjectedRow] = []
            func write(_ rows: [ProjectedRow]) throws { self.rows = rows }
        }
        let rows = [ProjectedRow(key: "a", json: #"{"a":"é"}"#), ProjectedRow(key: "b", json: "[]")]
        let recorder = Recorder()
        try recorder.write(RowStream(rows))
        #expect(recorder.rows == rows)
    }
}
