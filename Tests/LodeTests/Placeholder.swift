import Testing

@Suite struct LodeTestsPlaceholder {
    @Test func builds() { #expect(Bool(true)) }
}
