import Testing

@Suite struct RawJSONTestsPlaceholder {
    @Test func builds() { #expect(Bool(true)) }
}
