import Foundation
import Testing

/// The documentation that is generated from the code is up to date.
@Suite struct DocsTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().path

    @Test func cliReferenceMatchesHelp() async throws {
        let check = try await shell(
            "python3 scripts/cli-reference.py '\(CLI.binary)' --check docs/CLI.md", in: Self.root)
        #expect(check.status == 0, "\(check.out.suffix(3000))")
    }
}
