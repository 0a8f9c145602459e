import Testing

@Suite struct ArchiverCoreTestsPlaceholder {
    @Test func builds() { #expect(Bool(true)) }
}
