/// Errors of the archive use cases (flush, replay, verify, prune, restore).
///
/// `message` is one line naming the problem and, where there is one, the fix. The CLI maps `code`
/// to an exit status.
public struct ArchiverError: Error, Sendable, CustomStringConvertible {
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        enum Base: String, Hashable, Sendable {
            case flushInProgress, fenced, hotStoreChanged, objectMismatch, emptyArchive, unknownCut
            case tampered, unreadable, missingObject, missingKey, notEmpty, projectionFailed, pruneRefused
            case invalidArgument, compactionInProgress, retireRefused
            case nothingToFlush, cutNameTaken
            case invalidData
        }
        let base: Base
        public var description: String { base.rawValue }

        /// Another flusher holds the lease.
        public static let flushInProgress = Code(base: .flushInProgress)
        /// The lease moved to another flusher while this one was working.
        public static let fenced = Code(base: .fenced)
        /// Events covered by a pending flush intent changed in the hot store.
        public static let hotStoreChanged = Code(base: .hotStoreChanged)
        /// An object already in the archive under a flush's key holds different content.
        public static let objectMismatch = Code(base: .objectMismatch)
        public static let emptyArchive = Code(base: .emptyArchive)
        public static let unknownCut = Code(base: .unknownCut)
        /// Archived bytes do not match their checksums, hash chain or signatures.
        public static let tampered = Code(base: .tampered)
        /// An object or manifest cannot be read or decoded.
        public static let unreadable = Code(base: .unreadable)
        /// An object a manifest lists is missing.
        public static let missingObject = Code(base: .missingObject)
        /// A manifest is signed by a key that is not trusted.
        public static let missingKey = Code(base: .missingKey)
        /// A restore target already holds events.
        public static let notEmpty = Code(base: .notEmpty)
        public static let projectionFailed = Code(base: .projectionFailed)
        public static let pruneRefused = Code(base: .pruneRefused)
        public static let invalidArgument = Code(base: .invalidArgument)
        /// A flush that must make a snapshot (a named cut) found no new event to put in it.
        public static let nothingToFlush = Code(base: .nothingToFlush)
        /// A named cut was asked for with a name another cut point already carries.
        public static let cutNameTaken = Code(base: .cutNameTaken)
        /// Input or archived values cannot be processed as asked: invalid UTF-8, not JSON, a sum that overflows.
        public static let invalidData = Code(base: .invalidData)
        /// Another `archiver compact` holds the compaction lease.
        public static let compactionInProgress = Code(base: .compactionInProgress)
        /// `compact --retire` deleted nothing: the active generation does not verify, or there is none.
        public static let retireRefused = Code(base: .retireRefused)
    }

    public var code: Code
    public var message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { message }
}
