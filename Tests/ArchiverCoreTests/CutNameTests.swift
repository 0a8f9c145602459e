import ArchiverCore
import Testing

/// Cut names that `--to` would read as something else, or that are empty, are refused when the cut is made.
@Suite struct CutNameTests {
    @Test(arguments: [
        "latest", "12", "0", "1767225600123456789", "", " ", " month-end", "month-end ", "a\u{7}b",
        "2026-11-30T00:00:00Z", "name:x", "snapshot:1", "position:5",
    ])
    func refused(_ name: String) {
        #expect(throws: ArchiverError.self) { try CutName.validate(name) }
    }

    @Test(arguments: ["month-end-2026-11", "release 1.2", "v12", "Q4", "12a", "ünïcode"])
    func accepted(_ name: String) throws {
        try CutName.validate(name)
    }

    @Test func reservedNameMessageSaysWhatToUse() {
        do {
            try CutName.validate("12")
            Issue.record("accepted")
        } catch let error as ArchiverError {
            #expect(error.code == .invalidArgument)
            #expect(error.message.contains("position 12") && error.message.contains("starts with a letter"))
        } catch {
            Issue.record("\(error)")
        }
    }

    @Test func duplicateNamesAreRefusedAtFlush() async throws {
        try await TestArchive.with { fixture in
            try await fixture.append(3)
            try await fixture.flush(checkpointEvery: 0, cutName: "month-end")
            try await fixture.append(3, from: 3)
            let refused = await #expect(throws: ArchiverError.self) {
                try await fixture.flush(checkpointEvery: 0, cutName: "month-end")
            }
            #expect(refused?.code == .cutNameTaken && refused?.message.contains("already taken") == true)
            // Nothing was archived by the refused flush; another name works.
            let named = try await fixture.flush(checkpointEvery: 0, cutName: "month-end-2")
            #expect(named.events == 3 && named.cutName == "month-end-2")
            let cuts = try await fixture.archive().cutPoints()
            #expect(cuts.compactMap(\.name) == ["month-end", "month-end-2"])
        }
    }
}
