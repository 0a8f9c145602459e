import Testing

@Suite struct ZstdTestsPlaceholder {
    @Test func builds() { #expect(Bool(true)) }
}
