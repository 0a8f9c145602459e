import ArchiverCore
import Coordination
import CoordinationSQLite
import Foundation
import RawJSON
import Testing

@Suite struct ExecProjectionTests {
    /// Replays everything in `test`'s archive through `command`; the rows it printed.
    static func replay(_ test: TestArchive, exec command: String) async throws -> [ProjectedRow] {
        let archive = try test.archive()
        let job = ReplayJob(replayer: Replayer(archive: archive), projection: .exec(command: command))
        return try await job.run(plan: try await archive.plan(to: CutSelector(parsing: "latest"))).rows
    }

    @Test func eventsArriveInTheReadShapeWithBothTimeFields() async throws {
        try await TestArchive.with { test in
            _ = try await test.coordination.append(
                AppendRequest(
                    stream: "café-1",
                    events: [ProposedEvent(type: "Said \"hi\"", data: #"{ "text" : "a\nb" }"#, metadata: #"{"k":1}"#)]))
            try await test.flush(checkpointEvery: 0)
            let rows = try await Self.replay(test, exec: "cat")
            try #require(rows.count == 1)
            #expect(rows[0].key == "000000000000")
            let event = try JSONValue.parse(rows[0].json)
            #expect(event["stream"]?.string == "café-1")
            #expect(event["type"]?.string == #"Said "hi""#)
            #expect(event["version"]?.int64 == 1 && event["position"]?.int64 == 1)
            #expect(event["data"] == .object(["text": .string("a\nb")]))
            #expect(event["metadata"] == .object(["k": .number("1")]))
            let nanos = try #require(event["recorded_at_ns"]?.int64)
            #expect(nanos > 1_700_000_000_000_000_000)
            // The RFC 3339 text of the same instant, to the microsecond.
            let seconds = nanos / 1_000_000_000
            let micros = (nanos % 1_000_000_000) / 1_000
            let date = Date(timeIntervalSince1970: TimeInterval(seconds))
            let formatter = ISO8601DateFormatter()
            formatter.timeZone = TimeZone(identifier: "UTC")
            let text = formatter.string(from: date).dropLast()  // "…Z" without the Z
            #expect(event["recorded_at"]?.string == "\(text).\(String(format: "%06lld", micros))Z")
            let keys = rows[0].json.split(separator: ",").compactMap { $0.split(separator: ":").first }.prefix(7)
            #expect(
                keys.map(String.init) == [
                    #"{"position""#, #""stream""#, #""version""#, #""id""#, #""type""#,
                    #""recorded_at_ns""#, #""recorded_at""#,
                ])
        }
    }

    @Test func manyWritesWorthOfEventsAllArriveInOrder() async throws {
        try await TestArchive.with { test in
            // ~3,000 lines of ~250 bytes: several of the projection's batched writes.
            try await test.append(3_000, streams: 40)
            try await test.flush(checkpointEvery: 0)
            let rows = try await Self.replay(test, exec: "cat")
            #expect(rows.count == 3_000)
            #expect(rows.last?.key == "000000002999")
            let positions = try rows.map { try #require(JSONValue.parse($0.json)["position"]?.int64) }
            #expect(positions == (1...3_000).map(Int64.init))
            let counted = try await Self.replay(test, exec: "wc -l")
            #expect(counted.map(\.json) == ["3000"])
        }
    }

    @Test func aChildThatStopsReadingFailsTheReplay() async throws {
        try await TestArchive.with { test in
            try await test.append(3_000, streams: 40)
            try await test.flush(checkpointEvery: 0)
            let error = await #expect(throws: ArchiverError.self) {
                try await Self.replay(test, exec: "head -c 10 >/dev/null; echo gone >&2; exit 4")
            }
            #expect(error?.code == .projectionFailed)
            #expect(error?.message.contains("exited with status 4: gone") == true)
        }
    }

    @Test func aLineThatIsNotJSONIsNamed() async throws {
        try await TestArchive.with { test in
            try await test.append(3)
            try await test.flush(checkpointEvery: 0)
            let error = await #expect(throws: ArchiverError.self) {
                try await Self.replay(test, exec: #"cat >/dev/null; printf '{"a":1}\r\n\n{oops\n'"#)
            }
            #expect(error?.message.contains("(line 2)") == true)
            let rows = try await Self.replay(test, exec: #"cat >/dev/null; printf '{"a":1}\r\n\n[2]\n'"#)
            #expect(
                rows == [
                    ProjectedRow(key: "000000000000", json: #"{"a":1}"#),
                    ProjectedRow(key: "000000000001", json: "[2]"),
                ])
        }
    }
}
