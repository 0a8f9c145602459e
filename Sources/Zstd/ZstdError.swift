/// An error from the zstd library or from malformed compressed input.
public struct ZstdError: Error, Sendable, CustomStringConvertible {
    /// What went wrong, with the zstd library's own words where it gave some.
    public var message: String

    public init(_ message: String) {
        self.message = message
    }

    public var description: String { "zstd: \(message)" }
}
