/// Errors in archive records and archive metadata. Messages name the object, line and position where known.
public struct ArchiveFormatError: Error, Sendable, CustomStringConvertible {
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        enum Base: String, Hashable, Sendable { case badRecord, badMetadata, chainMismatch }
        let base: Base
        public var description: String { base.rawValue }
        /// A record line is not a well-formed version-1 record.
        public static let badRecord = Code(base: .badRecord)
        /// Manifest metadata is missing an `archiver.*` key or holds a bad value.
        public static let badMetadata = Code(base: .badMetadata)
        /// A record's hash does not follow from the previous one: the archive was altered.
        public static let chainMismatch = Code(base: .chainMismatch)
    }

    public var code: Code
    public var message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { message }
}
