import ArchiveFormat
import Coordination
import CoordinationSQLite
import Foundation
import Lode
import RawJSON
import Testing

@testable import ArchiverCore

/// The built-in folds split by stream over worker threads give, byte for byte, the rows of one fold.
@Suite struct PartitionedFoldTests {
    /// Appends the Python reference's hostile patches (nesting, duplicate keys, unicode escapes, null deletions,
    /// arrays of objects) over `streams` streams, plus streams whose names `String` calls equal; returns the
    /// expected states by stream.
    static func appendReferenceEvents(_ test: TestArchive, seed: Int, streams: Int) async throws -> [String: String] {
        let (events, expected) = try await MergePatchFoldTests.reference(seed: seed, events: 2_000, streams: streams)
        var requests: [AppendRequest] = []
        for (index, event) in events.enumerated() {
            // Records are JSON lines: the reference's line breaks between tokens (never inside a string in valid
            // JSON) become spaces.
            let raw = String(event.raw.map { $0 == "\n" || $0 == "\r" || $0 == "\r\n" ? " " : $0 })
            // The sum fold's streams: objects with a numeric "amount", and some of the reference's objects.
            let data = raw.hasPrefix("{") && index % 3 == 0 ? raw : #"{"amount":\#(index % 89)}"#
            requests.append(AppendRequest(stream: event.stream, events: [ProposedEvent(type: "T", data: raw)]))
            requests.append(AppendRequest(stream: "sum-\(index % 23)", events: [ProposedEvent(type: "S", data: data)]))
        }
        for name in ["\u{E9}t\u{E9}", "e\u{301}te\u{301}", "Z", "a", "\u{1F642}", "a\"b\\c"] {
            requests.append(
                AppendRequest(stream: name, events: [ProposedEvent(type: "U", data: #"{"n":"\#(name.utf8.count)"}"#)]))
        }
        for start in stride(from: 0, to: requests.count, by: 500) {
            _ = try await test.coordination.appendMultiple(
                Array(requests[start..<min(start + 500, requests.count)]), idempotencyKey: nil)
        }
        try await test.flush(checkpointEvery: 0)
        return expected
    }

    /// The rows of `fold` replayed from the archive split over `workers`, handed over `batchEvents` at a time.
    static func rows<Fold: PartitionableFold>(
        _ fold: Fold, _ archive: Archive, workers: Int, batchEvents: Int
    ) async throws -> [ProjectedRow] {
        var projection = try PartitionedFold(fold, rules: UpcastRuleSet(), workers: workers, batchEvents: batchEvents)
        let plan = try await archive.plan(to: CutSelector(parsing: "latest"))
        // The sum fold reads objects: it gets the "sum-" streams, the merge-patch fold every stream.
        let filter = fold is FieldSumFold ? ReplayFilter(categories: ["sum"]) : ReplayFilter()
        let stats = try await Replayer(archive: archive, filter: filter).run(&projection, plan: plan)
        try projection.finish()
        #expect(stats.applied == stats.read.events)
        return try projection.rows()
    }

    @Test(arguments: [1, 2])
    func workersGiveTheRowsOfOneFold(seed: Int) async throws {
        try await TestArchive.with(bytesPerSnapshot: 16_384) { test in
            let expected = try await Self.appendReferenceEvents(test, seed: seed, streams: 40)
            let archive = try test.archive()
            let oneFold = try await Self.rows(MergePatchFold(), archive, workers: 1, batchEvents: 1)
            let oneSum = try await Self.rows(FieldSumFold(field: "amount"), archive, workers: 1, batchEvents: 1)
            #expect(oneFold.count == 40 + 23 + 6 && oneSum.count == 23)
            for row in oneFold where row.key.hasPrefix("s") && !row.key.hasPrefix("sum-") {
                #expect(row.json.hasSuffix(#","state":\#(try #require(expected[row.key]))}"#), "stream \(row.key)")
            }
            for (workers, batch) in [(2, 64), (3, 1), (3, 8192), (8, 333)] {
                let fold = try await Self.rows(MergePatchFold(), archive, workers: workers, batchEvents: batch)
                #expect(fold.map(\.json) == oneFold.map(\.json), "fold, \(workers) workers, batches of \(batch)")
                #expect(fold.map(\.key) == oneFold.map(\.key))
                let sums = try await Self.rows(
                    FieldSumFold(field: "amount"), archive, workers: workers, batchEvents: batch)
                #expect(sums.map(\.json) == oneSum.map(\.json), "sum, \(workers) workers, batches of \(batch)")
            }
        }
    }

    /// Canonically equivalent names are different streams, in byte order; the order does not depend on the split.
    @Test func equivalentStreamNamesSortByTheirBytes() async throws {
        try await TestArchive.with { test in
            _ = try await Self.appendReferenceEvents(test, seed: 3, streams: 2)
            let rows = try await Self.rows(MergePatchFold(), try test.archive(), workers: 3, batchEvents: 5)
            let names = rows.map(\.key).filter { $0.unicodeScalars.count <= 5 && $0.hasSuffix("te\u{301}") }
            #expect(names.map { Array($0.utf8) } == [Array("e\u{301}te\u{301}".utf8), Array("\u{E9}t\u{E9}".utf8)])
        }
    }

    /// Through ``ReplayJob``: a sink gets the same bytes, a saved snapshot restores into any split, and a failure
    /// names the same event.
    @Test(arguments: [ProjectionSpec.fold, .sum(field: "amount")])
    func jobsAgreeWhateverTheWorkers(spec: ProjectionSpec) async throws {
        try await TestArchive.with(bytesPerSnapshot: 8_192) { test in
            _ = try await Self.appendReferenceEvents(test, seed: 4, streams: 30)
            let archive = try test.archive()
            let plan = try await archive.plan(to: CutSelector(parsing: "latest"))
            let filter = spec == .fold ? ReplayFilter() : ReplayFilter(categories: ["sum", "account", "order"])
            var files: [Data] = []
            for workers in [1, 2, 3, 8] {
                let path = test.directory + "/rows-\(workers).jsonl"
                var job = ReplayJob(replayer: Replayer(archive: archive, filter: filter), projection: spec)
                job.foldWorkers = workers
                let outcome = try await job.run(plan: plan, into: JSONLinesSink(path: path))
                #expect(outcome.rowCount == (spec == .fold ? 30 + 23 + 6 : 23))
                files.append(try Data(contentsOf: URL(fileURLWithPath: path)))
            }
            #expect(files.allSatisfy { $0 == files[0] } && files[0].count > 1_000)

            var saving = ReplayJob(replayer: Replayer(archive: archive, filter: filter), projection: spec)
            saving.foldWorkers = 3
            saving.saveSnapshot = true
            let saved = try await saving.run(plan: plan)
            try await test.append(200, streams: 70, from: 5_000)
            try await test.flush(checkpointEvery: 0)
            let later = try await archive.plan(to: CutSelector(parsing: "latest"))
            var resumed = ReplayJob(replayer: Replayer(archive: archive, filter: filter), projection: spec)
            resumed.foldWorkers = 2
            let fromSnapshot = try await resumed.run(plan: later)
            #expect(fromSnapshot.startedFrom?.snapshotID == saved.saved?.snapshotID)
            // TestArchive.append's stream n is an "invoice-" one when n % 3 == 2: the sum's filter leaves those out.
            let selected = (5_000..<5_200).filter { spec == .fold || (($0 &* 7919) % 70) % 3 != 2 }.count
            #expect(fromSnapshot.stats.applied == selected && selected > 100)
            resumed.fromScratch = true
            resumed.foldWorkers = 1
            let scratch = try await resumed.run(plan: later)
            #expect(fromSnapshot.rows.map(\.json) == scratch.rows.map(\.json) && scratch.rows.count > 59)
        }
    }

    /// The first failing event by position is the one reported, whichever worker met it.
    @Test(arguments: [1, 2, 5])
    func theFirstFailureIsReported(workers: Int) async throws {
        try await TestArchive.with { test in
            var requests: [AppendRequest] = []
            for i in 0..<300 {
                let amount = [150, 157, 290, 297].contains(i) ? "1e308" : "1"
                requests.append(
                    AppendRequest(
                        stream: i >= 290 ? "late-\(i % 7)" : "big-\(i % 7)",
                        events: [ProposedEvent(type: "T", data: #"{"amount":\#(amount)}"#)]))
            }
            _ = try await test.coordination.appendMultiple(requests, idempotencyKey: nil)
            try await test.flush(checkpointEvery: 0)
            var job = ReplayJob(replayer: Replayer(archive: try test.archive()), projection: .sum(field: "amount"))
            job.foldWorkers = workers
            let plan = try await job.replayer.archive.plan(to: CutSelector(parsing: "latest"))
            let error = await #expect(throws: ArchiverError.self) { try await job.run(plan: plan) }
            #expect(error?.code == .invalidData)
            #expect(error?.message.hasPrefix("stream 'big-3': the sum of data.amount is no longer a finite") == true)
            #expect(error?.message.contains("at position 158 ") == true)
        }
    }
}
