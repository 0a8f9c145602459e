import Testing

@Suite struct ArchiveFormatTestsPlaceholder {
    @Test func builds() { #expect(Bool(true)) }
}
