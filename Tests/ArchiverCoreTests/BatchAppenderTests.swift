import ArchiverCore
import Coordination
import CoordinationSQLite
import Foundation
import Testing

@Suite struct BatchAppenderTests {
    static func lines(_ lines: [String]) -> [UInt8] { Array((lines.joined(separator: "\n") + "\n").utf8) }

    @Test(arguments: [1, 2, 500])
    func appendsEveryLineInOrder(batchSize: Int) async throws {
        try await TestArchive.with { test in
            let input =
                Self.lines((1...7).map { #"{"stream":"s-\#($0 % 3)","type":"T","data":{"n":\#($0)}}"# })
                + Array(
                    "\r\n   \n".utf8)
            let appender = try BatchAppender(store: test.coordination, batchSize: batchSize)
            let summary = try await appender.append(input)
            #expect(summary.events == 7 && summary.streams == 3)
            let events = try await test.coordination.readAll(after: 0, limit: 100)
            #expect(events.map(\.data) == (1...7).map { #"{"n":\#($0)}"# })
            #expect(events.map(\.stream) == (1...7).map { "s-\($0 % 3)" })
        }
    }

    /// Every kind of bad line is found before the first commit: nothing is appended, whatever the batch size.
    @Test(arguments: [
        (#"{"stream":"s","type":"T","data":{"n":}"#, "stdin line 3: "),
        (#"{"type":"T","data":{}}"#, #"stdin line 3: missing "stream" (a string)"#),
        (#"{"stream":"s","type":"","data":{}}"#, "stdin line 3: event 1 of stream 's': the type must be 1 to"),
        (#"{"stream":"s","type":"T","data":{},"metadata":[]}"#, "stdin line 3: event 1 of stream 's': metadata"),
        (#"{"stream":"s","type":"T","data":{},"id":"nope"}"#, "stdin line 3: event 1 of stream 's': id 'nope'"),
    ])
    func aBadLineAppendsNothing(bad: String, message: String) async throws {
        try await TestArchive.with { test in
            let good = #"{"stream":"s","type":"T","data":{}}"#
            for batchSize in [1, 2] {
                let appender = try BatchAppender(store: test.coordination, batchSize: batchSize)
                let error = await #expect(throws: ArchiverError.self) {
                    try await appender.append(Self.lines([good, good, bad, good]))
                }
                #expect(error?.code == .invalidData)
                #expect(error?.message.hasPrefix(message) == true, "\(error?.message ?? "")")
                #expect(error?.message.contains("nothing was appended") == true)
                #expect(try await test.coordination.readAll(after: 0, limit: 10).isEmpty)
            }
        }
    }

    @Test func invalidUTF8IsNamedByLineAndOffset() async throws {
        try await TestArchive.with { test in
            let appender = try BatchAppender(store: test.coordination, source: "body")
            var input = Self.lines([#"{"stream":"s","type":"T","data":{}}"#])
            input +=
                Array(#"{"stream":"s","type":"T","data":{"a":"#.utf8) + [0xF4, 0x90, 0x80, 0x80] + Array("}\n".utf8)
            let error = await #expect(throws: ArchiverError.self) { try await appender.append(input) }
            #expect(error?.message.hasPrefix("body line 2: invalid UTF-8 at byte offset 37 of the line") == true)
            #expect(try await test.coordination.readAll(after: 0, limit: 10).isEmpty)
        }
    }

    /// A store that fails during the commits stops at that transaction and names its lines.
    @Test func aStoreFailureNamesTheFirstLineNotAppended() async throws {
        try await TestArchive.with { test in
            let lines = Self.lines((1...5).map { #"{"stream":"s","type":"T","data":{"n":\#($0)}}"# })
            let appender = try BatchAppender(store: test.coordination, batchSize: 2)
            await test.coordination.close()
            let failure = await #expect(throws: BatchAppendFailure.self) { try await appender.append(lines) }
            #expect(failure?.lines == 1...2 && failure?.appendedBefore == 0)
            #expect(failure?.description.hasPrefix("stdin line 1...2 not appended: ") == true)
            #expect(throws: ArchiverError.self) { try BatchAppender(store: test.coordination, batchSize: 0) }
        }
    }

    @Test(
        arguments: [
            ([0x61, 0xC3, 0xA9, 0xE2, 0x82, 0xAC, 0xF0, 0x9D, 0x84, 0x9E], nil),
            ([0x61, 0x0A, 0x62, 0xFF], (2, 1)), ([0xC0, 0xAF], (1, 0)), ([0xE0, 0x80, 0xAF], (1, 0)),
            ([0xED, 0xBF, 0xBF], (1, 0)), ([0xF4, 0x90, 0x80, 0x80], (1, 0)), ([0x61, 0xE2, 0x82], (1, 1)),
            ([0x80], (1, 0)), ([0xEF, 0xBF, 0xBF, 0xF4, 0x8F, 0xBF, 0xBF], nil),
        ] as [([UInt8], (Int, Int)?)])
    func utf8Validation(bytes: [UInt8], expected: (Int, Int)?) {
        let found = UTF8Validation.firstInvalid(bytes)
        #expect(found?.line == expected?.0 && found?.offset == expected?.1)
        #expect((found == nil) == (String(validating: bytes, as: UTF8.self) != nil))
    }
}
