/// The one error type of the coordination layer. `code` says what went wrong; `message` names the
/// problem and the fix. Event payloads, SQL arguments and secrets never appear in it.
public struct CoordinationError: Error, Sendable, CustomStringConvertible {
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        enum Base: String, Hashable, Sendable {
            case wrongExpectedVersion, idempotencyConflict, invalidInput, eventTooLarge, streamNotFound
            case fenced, intentExists, leaseHeld, migrationMismatch, connectionFailed, queryFailed
            case prunedRange, closed, busy, storageFull, permissionDenied, resourcesExhausted
        }
        let base: Base
        public var description: String { base.rawValue }

        /// The stream's actual version did not match the expectation; see `actualVersion`.
        public static let wrongExpectedVersion = Code(base: .wrongExpectedVersion)
        /// The idempotency key was used before with a different request.
        public static let idempotencyConflict = Code(base: .idempotencyConflict)
        /// Malformed JSON, an empty or over-long stream name or type, an empty batch, a bad UUID.
        public static let invalidInput = Code(base: .invalidInput)
        /// An event's data + metadata exceed the configured limit.
        public static let eventTooLarge = Code(base: .eventTooLarge)
        public static let streamNotFound = Code(base: .streamNotFound)
        /// The caller's fencing token is stale: another flusher holds the lease.
        public static let fenced = Code(base: .fenced)
        /// A flush intent is already pending.
        public static let intentExists = Code(base: .intentExists)
        public static let leaseHeld = Code(base: .leaseHeld)
        /// The database carries an unknown or altered migration.
        public static let migrationMismatch = Code(base: .migrationMismatch)
        public static let connectionFailed = Code(base: .connectionFailed)
        public static let queryFailed = Code(base: .queryFailed)
        /// The requested events were pruned from the hot store; read them from the archive.
        public static let prunedRange = Code(base: .prunedRange)
        public static let closed = Code(base: .closed)
        /// The database stayed locked longer than the busy timeout.
        public static let busy = Code(base: .busy)
        /// The disk under the store is full (ENOSPC; PostgreSQL 53100): nothing was written.
        public static let storageFull = Code(base: .storageFull)
        /// The store's file, directory or schema may not be written (EACCES, a read-only file; PostgreSQL 42501).
        public static let permissionDenied = Code(base: .permissionDenied)
        /// The database server ran out of memory, connections or a configured limit (PostgreSQL 53xxx).
        public static let resourcesExhausted = Code(base: .resourcesExhausted)
    }

    public var code: Code
    public var message: String
    /// For `.wrongExpectedVersion`: the stream's actual version (0 when it does not exist).
    public var actualVersion: Int64?
    public var stream: String?
    public var file: String
    public var line: Int

    public init(
        _ code: Code, _ message: String, actualVersion: Int64? = nil, stream: String? = nil,
        file: String = #fileID, line: Int = #line
    ) {
        self.code = code
        self.message = message
        self.actualVersion = actualVersion
        self.stream = stream
        self.file = file
        self.line = line
    }

    public var description: String { message }
}
