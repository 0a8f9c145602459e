import Testing

@Suite struct ArchiverCLITestsPlaceholder {
    @Test func builds() { #expect(Bool(true)) }
}
