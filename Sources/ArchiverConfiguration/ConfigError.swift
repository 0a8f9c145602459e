/// A configuration problem: an unknown key, a bad value, a missing file. The CLI exits 64 on it.
public struct ConfigError: Error, Sendable, CustomStringConvertible {
    /// One line naming the key or file, the problem and the fix; never a secret value.
    public var message: String

    public init(_ message: String) { self.message = message }

    public var description: String { message }
}
