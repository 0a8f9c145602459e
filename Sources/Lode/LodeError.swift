/// The one error type of the Lode module.
///
/// `code` says what went wrong (it maps to the Go sentinels of LODE_FORMAT.md §7); `message` names the object
/// key and, where there is one, the fix. Record payloads never appear in it.
///
/// ```swift
/// do {
///     try await store.put("datasets/orders/latest", bytes)
/// } catch let error as LodeError where error.code == .pathExists {
///     // create-only: the first object stays untouched
/// }
/// ```
public struct LodeError: Error, Sendable, CustomStringConvertible {
    /// What went wrong. A struct over a private enum, so cases can be added without breaking callers.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        enum Base: String, Hashable, Sendable {
            case notFound, noSnapshots, noManifests, pathExists, invalidPath, manifestInvalid, corruptManifest
            case snapshotConflict, datasetsNotModeled, rangeReadUnsupported, rangeMissing, checksumMismatch
            case sizeMismatch, corruptData, forkDetected, brokenChain, componentMismatch, unsupportedCodec, io
            case invalidConfiguration, invalidRecord
        }
        let base: Base
        public var description: String { base.rawValue }

        /// The key (or snapshot ID) does not exist. Go `ErrNotFound`.
        public static let notFound = Code(base: .notFound)
        /// The dataset has no snapshot at all. Go `ErrNoSnapshots`.
        public static let noSnapshots = Code(base: .noSnapshots)
        /// Objects exist but none is a manifest. Go `ErrNoManifests`.
        public static let noManifests = Code(base: .noManifests)
        /// A create-only put hit an existing key. Go `ErrPathExists`. Not retryable.
        public static let pathExists = Code(base: .pathExists)
        /// An empty, absolute or escaping key, or a negative or overflowing range. Go `ErrInvalidPath`.
        public static let invalidPath = Code(base: .invalidPath)
        /// A manifest decoded but failed validation; ``LodeError/field`` names the field. Go `ErrManifestInvalid`.
        public static let manifestInvalid = Code(base: .manifestInvalid)
        /// A manifest is not decodable JSON (for example torn by a crash). Never guessed around.
        public static let corruptManifest = Code(base: .corruptManifest)
        /// The `latest` pointer did not hold what was expected: another writer committed. Retryable.
        public static let snapshotConflict = Code(base: .snapshotConflict)
        /// Dataset enumeration with the flat layout. Go `ErrDatasetsNotModeled`.
        public static let datasetsNotModeled = Code(base: .datasetsNotModeled)
        /// The store cannot read ranges. Go `ErrRangeReadNotSupported`.
        public static let rangeReadUnsupported = Code(base: .rangeReadUnsupported)
        /// A volume range that no committed block covers. Go `ErrRangeMissing`.
        public static let rangeMissing = Code(base: .rangeMissing)
        /// A stored object's MD5 differs from its manifest; see ``LodeError/expected`` and ``LodeError/actual``.
        public static let checksumMismatch = Code(base: .checksumMismatch)
        /// A stored object's size differs from its manifest; see ``LodeError/expected`` and ``LodeError/actual``.
        public static let sizeMismatch = Code(base: .sizeMismatch)
        /// A data object does not decompress or decode (truncated frame, over-long line, …).
        public static let corruptData = Code(base: .corruptData)
        /// Two snapshots name the same parent: history is not linear.
        public static let forkDetected = Code(base: .forkDetected)
        /// A parent snapshot is missing, or the parent links form a cycle.
        public static let brokenChain = Code(base: .brokenChain)
        /// A snapshot's codec or compressor differs from the dataset's configuration.
        public static let componentMismatch = Code(base: .componentMismatch)
        /// A codec, compressor or checksum algorithm this implementation cannot read (e.g. `parquet`).
        public static let unsupportedCodec = Code(base: .unsupportedCodec)
        /// An operating-system or backend failure; usually retryable.
        public static let io = Code(base: .io)
        /// A dataset configuration or API use that cannot work (e.g. a bad dataset ID, hive without keys).
        public static let invalidConfiguration = Code(base: .invalidConfiguration)
        /// A record handed to a writer is empty, contains a newline, or is too large.
        public static let invalidRecord = Code(base: .invalidRecord)
    }

    public var code: Code
    /// One line naming the object and, where there is one, the fix.
    public var message: String
    /// The object key the error is about, when there is one.
    public var key: String?
    /// For ``Code/manifestInvalid``: the failing field, e.g. `schema_name` or `files[0].path`.
    public var field: String?
    /// For ``Code/checksumMismatch`` and ``Code/sizeMismatch``: what the manifest records.
    public var expected: String?
    /// For ``Code/checksumMismatch`` and ``Code/sizeMismatch``: what the store holds.
    public var actual: String?
    /// The underlying error (an `errno` description, a zstd or gzip error), when there is one.
    public var cause: String?
    public var file: String
    public var line: Int

    public init(
        _ code: Code, _ message: String, key: String? = nil, field: String? = nil, expected: String? = nil,
        actual: String? = nil, cause: String? = nil, file: String = #fileID, line: Int = #line
    ) {
        self.code = code
        self.message = message
        self.key = key
        self.field = field
        self.expected = expected
        self.actual = actual
        self.cause = cause
        self.file = file
        self.line = line
    }

    public var description: String {
        if let cause { return "\(message) (\(cause))" }
        return message
    }
}

extension LodeError {
    static func notFound(_ key: String, _ what: String = "object") -> LodeError {
        LodeError(.notFound, "\(what) '\(key)' does not exist", key: key)
    }

    static func pathExists(_ key: String) -> LodeError {
        LodeError(
            .pathExists, "object '\(key)' already exists; objects are create-only and the first one was kept",
            key: key)
    }

    static func invalidPath(_ key: String, _ why: String) -> LodeError {
        LodeError(.invalidPath, "invalid key '\(key)': \(why)", key: key)
    }

    static func manifestInvalid(field: String, _ why: String, key: String?) -> LodeError {
        let place = key.map { " '\($0)'" } ?? ""
        return LodeError(
            .manifestInvalid, "invalid manifest\(place): \(field): \(why)", key: key, field: field)
    }

    static func corruptManifest(key: String?, _ why: String) -> LodeError {
        let place = key.map { " '\($0)'" } ?? ""
        return LodeError(
            .corruptManifest,
            "manifest\(place) is not decodable JSON (\(why)); it may be torn by a crash: inspect it, never guess its "
                + "contents", key: key)
    }

    static func checksumMismatch(key: String, expected: String, actual: String) -> LodeError {
        LodeError(
            .checksumMismatch,
            "object '\(key)' has MD5 \(actual) but its manifest records \(expected): the object was changed or "
                + "damaged; restore it from a replica", key: key, expected: expected, actual: actual)
    }

    static func sizeMismatch(key: String, expected: Int64, actual: Int64) -> LodeError {
        LodeError(
            .sizeMismatch,
            "object '\(key)' holds \(actual) bytes but its manifest records \(expected): the object was truncated "
                + "or replaced; restore it from a replica", key: key, expected: String(expected),
            actual: String(actual))
    }

    static func io(_ what: String, key: String?, errno code: Int32) -> LodeError {
        LodeError(.io, "\(what) failed", key: key, cause: describeErrno(code))
    }
}
