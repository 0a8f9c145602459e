import Testing

@Suite struct CoordinationTestsPlaceholder {
    @Test func builds() { #expect(Bool(true)) }
}
