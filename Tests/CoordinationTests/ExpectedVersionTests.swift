import Coordination
import Testing

@Suite struct ExpectedVersionTests {
    @Test(arguments: [
        ("any", ExpectedVersion.any), ("no-stream", .noStream), ("noStream", .noStream), ("0", .noStream),
        ("exists", .streamExists), ("7", .exact(7)), ("0012", .exact(12)),
    ])
    func documentedFormsParse(text: String, expected: ExpectedVersion) {
        #expect(ExpectedVersion(parsing: text) == expected)
    }

    /// Signed, spaced, exponent and empty forms are refused, not read as a number.
    @Test(arguments: ["+1", "-1", " 1", "1 ", "1e0", "", "0x1", "١"])
    func otherFormsAreRefused(text: String) {
        #expect(ExpectedVersion(parsing: text) == nil)
    }
}
