public import RawJSON

/// The members of an event that upcaster rules read and change. Position, stream, version and time are kept
/// as they were archived.
public struct UpcastEvent: Sendable, Hashable {
    public var id: String
    public var type: String
    public var data: JSONValue
    public var metadata: JSONValue

    public init(id: String, type: String, data: JSONValue, metadata: JSONValue) {
        self.id = id
        self.type = type
        self.data = data
        self.metadata = metadata
    }

    /// The schema version in `metadata[key]`: a whole number or a string of digits; 1 when absent; nil when it
    /// is something else (such an event matches only rules without a version).
    func schemaVersion(key: String) -> Int64? {
        switch metadata[key] {
        case .none: return 1
        case .number(let literal)?: return Int64(literal)
        case .string(let text)?: return Int64(text)
        default: return nil
        }
    }
}
