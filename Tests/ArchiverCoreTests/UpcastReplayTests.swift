import ArchiveFormat
import ArchiverCore
import Coordination
import Foundation
import Testing

@Suite struct UpcastReplayTests {
    /// Rules that touch the test archive's `Changed` events: `amount` becomes a string under another name.
    static func rules(_ target: String) throws -> UpcastRuleSet {
        try UpcastRuleSet(
            yaml: """
                rules:
                  - name: rename-amount
                    type: Changed
                    steps:
                      - move: {from: /amount, to: /\(target)}
                      - to-string: /\(target)
                      - rename-type: ChangedV2
                """, source: "test")
    }

    /// An aggregate snapshot is reused only by a replay under the same rule-set hash; under other rules, or
    /// none, it is passed over with a note, and the result equals a replay from scratch under those rules.
    @Test func snapshotsAreReusedOnlyUnderTheSameRules() async throws {
        try await TestArchive.with(bytesPerSnapshot: 4_096) { test in
            try await test.append(200)
            try await test.flush(checkpointEvery: 0)
            let archive = try test.archive()
            var job = ReplayJob(replayer: Replayer(archive: archive), projection: .fold)
            job.upcasters = try Self.rules("total")
            job.saveSnapshot = true
            let plan = try await archive.plan(to: CutSelector(parsing: "latest"))
            let first = try await job.run(plan: plan)
            let saved = try #require(first.saved)
            #expect(
                first.rows.contains { $0.json.contains(#""total":"#) }
                    && !first.rows.contains { $0.json.contains(#""amount":"#) })

            try await test.append(30, from: 200)
            try await test.flush(checkpointEvery: 0)
            let later = try await archive.plan(to: CutSelector(parsing: "latest"))
            job.saveSnapshot = false
            let same = try await job.run(plan: later)
            #expect(same.startedFrom?.snapshotID == saved.snapshotID && same.stats.applied == 30)

            for other in [try Self.rules("sum"), UpcastRuleSet()] {
                job.upcasters = other
                job.fromScratch = false
                let passedOver = try await job.run(plan: later)
                #expect(passedOver.startedFrom == nil && passedOver.stats.applied == 230)
                #expect(
                    passedOver.notes.contains {
                        $0.contains("aggregate snapshot \(saved.snapshotID) was made under upcaster rules")
                    })
                job.fromScratch = true
                #expect(try await job.run(plan: later).rows.map(\.json) == passedOver.rows.map(\.json))
            }
            job.upcasters = try Self.rules("total")
            job.fromScratch = true
            #expect(try await job.run(plan: later).rows.map(\.json) == same.rows.map(\.json))
        }
    }

    /// `--upcast-exec`: a child that sees the rules' output and prints the events the projection gets.
    @Test func anExecUpcasterFeedsTheProjection() async throws {
        try await TestArchive.with { test in
            try await test.append(20)
            try await test.flush(checkpointEvery: 0)
            let archive = try test.archive()
            let plan = try await archive.plan(to: CutSelector(parsing: "latest"))
            var rules = try Self.rules("total")
            rules.exec = #"sed 's/"type":"ChangedV2"/"type":"ChangedV3"/'"#
            var job = ReplayJob(replayer: Replayer(archive: archive), projection: .exec(command: "cat"))
            job.upcasters = rules
            let rows = try await job.run(plan: plan).rows
            #expect(rows.count == 20)
            #expect(rows.allSatisfy { $0.json.contains(#""type":"ChangedV3""#) && $0.json.contains(#""total":""#) })
        }
    }
}
