/// A flat key space of immutable objects plus one kind of mutable object (the `latest` pointer).
///
/// Keys are store-relative and `/`-separated: no leading `/`, no empty, `.` or `..` segments
/// (``LodeError/Code/invalidPath`` otherwise). Every object is create-only except through
/// ``compareAndSwap(_:expected:replacement:)``. Implementations: ``FileStore``, ``MemoryStore``; an S3 store
/// lives in its own module.
///
/// ```swift
/// let store = FileStore(root: "/var/lib/archive")
/// try await store.put("datasets/orders/snapshots/1/data/data", bytes)
/// let back = try await store.get("datasets/orders/snapshots/1/data/data")
/// ```
public protocol ObjectStore: Sendable {
    /// Creates `key` holding `bytes`. Create-only: an existing key throws ``LodeError/Code/pathExists`` and
    /// the existing object is left untouched.
    func put(_ key: String, _ bytes: [UInt8]) async throws

    /// Publishes the local file at `path` as `key`, create-only, without loading it whole into memory.
    /// The local file must not be modified afterwards (a file store may hard-link it).
    func putFile(_ key: String, fromLocalFile path: String) async throws

    /// The whole object. Throws ``LodeError/Code/notFound`` when it is missing.
    func get(_ key: String) async throws -> [UInt8]

    /// The bytes `[offset, offset+length)` of the stored object (LODE_FORMAT.md §5.6): a negative offset or
    /// length or an overflowing sum is ``LodeError/Code/invalidPath``; a missing key ``LodeError/Code/notFound``;
    /// a range past the end is cut short; an offset at or past the end gives `[]`.
    func getRange(_ key: String, offset: Int64, length: Int64) async throws -> [UInt8]

    /// A streaming reader over the object. Throws ``LodeError/Code/notFound`` when it is missing.
    func openReader(_ key: String) async throws -> any ObjectReader

    /// The object's size, or `nil` when it does not exist.
    func head(_ key: String) async throws -> ObjectInfo?

    /// Whether the object exists.
    func exists(_ key: String) async throws -> Bool

    /// Every object whose key starts with `prefix` (plain string prefix), sorted by key bytes. Temporary files
    /// of in-flight writes are never listed.
    func list(prefix: String) async throws -> [ObjectInfo]

    /// The objects of ``list(prefix:)`` whose keys sort after `startAfter` by bytes (S3 `StartAfter`). A store
    /// that can skip the keys before it (the file store) costs what it returns, not the whole prefix; the default
    /// lists the prefix and filters.
    func list(prefix: String, startAfter: String) async throws -> [ObjectInfo]

    /// Removes the object; a missing key is not an error.
    func delete(_ key: String) async throws

    /// Atomically replaces the content of `key` when it equals `expected` (LODE_FORMAT.md §4.3): a missing key
    /// with `expected == ""` is created; a missing key with a non-empty `expected`, or different content, throws
    /// ``LodeError/Code/snapshotConflict``.
    func compareAndSwap(_ key: String, expected: String, replacement: String) async throws
}

extension ObjectStore {
    public func list(prefix: String, startAfter: String) async throws -> [ObjectInfo] {
        try await list(prefix: prefix).filter { ObjectKey.byteOrder(startAfter, $0.key) }
    }

    public func exists(_ key: String) async throws -> Bool {
        try await head(key) != nil
    }
}

/// A listed or inspected object.
public struct ObjectInfo: Sendable, Hashable {
    /// The store-relative key.
    public var key: String
    /// The stored size in bytes.
    public var size: Int64

    public init(key: String, size: Int64) {
        self.key = key
        self.size = size
    }
}

/// A streaming, sequential reader over one object.
public protocol ObjectReader: Sendable {
    /// The object's size in bytes when it was opened.
    var size: Int64 { get }

    /// The next bytes, at most `maxCount` of them; `[]` at the end of the object.
    func read(upTo maxCount: Int) async throws -> [UInt8]

    /// Reads the next bytes into `buffer` (replacing its contents, reusing its capacity), at most `maxCount`
    /// of them; returns the count, 0 at the end of the object.
    func read(into buffer: inout [UInt8], upTo maxCount: Int) async throws -> Int
}

extension ObjectReader {
    public func read(into buffer: inout [UInt8], upTo maxCount: Int) async throws -> Int {
        let chunk = try await read(upTo: maxCount)
        buffer.removeAll(keepingCapacity: true)
        buffer.append(contentsOf: chunk)
        return chunk.count
    }
}

/// Key and prefix validation shared by the stores.
public enum ObjectKey {
    /// Checks that `key` is a valid object key: non-empty, no leading `/`, no empty, `.` or `..` segment,
    /// no NUL byte.
    /// - Throws: ``LodeError/Code/invalidPath``.
    public static func validate(_ key: String) throws(LodeError) {
        guard !key.isEmpty else { throw LodeError.invalidPath(key, "a key must not be empty") }
        try validateSegments(key, allowTrailingSlash: false)
    }

    /// Checks a list prefix: `""` (everything) or a key-like string that may end with `/`.
    /// - Throws: ``LodeError/Code/invalidPath``.
    public static func validatePrefix(_ prefix: String) throws(LodeError) {
        guard !prefix.isEmpty else { return }
        try validateSegments(prefix, allowTrailingSlash: true)
    }

    private static func validateSegments(_ key: String, allowTrailingSlash: Bool) throws(LodeError) {
        let utf8 = key.utf8
        if utf8.first == UInt8(ascii: "/") {
            throw LodeError.invalidPath(key, "keys are store-relative and must not start with '/'")
        }
        if utf8.contains(0) { throw LodeError.invalidPath(key, "keys must not contain a NUL byte") }
        var segments = utf8.split(separator: UInt8(ascii: "/"), omittingEmptySubsequences: false)
        if allowTrailingSlash, segments.count > 1, segments.last?.isEmpty == true { segments.removeLast() }
        for segment in segments {
            if segment.isEmpty { throw LodeError.invalidPath(key, "keys must not contain empty segments ('//')") }
            if segment.elementsEqual(".".utf8) || segment.elementsEqual("..".utf8) {
                throw LodeError.invalidPath(key, "keys must not contain '.' or '..' segments")
            }
        }
    }

    /// Sorts keys by their UTF-8 bytes (Go's string order), not by Swift's Unicode-aware `<`.
    public static func byteOrder(_ a: String, _ b: String) -> Bool {
        a.utf8.lexicographicallyPrecedes(b.utf8)
    }

    /// Whether `name` (the last key segment) is a temporary file of an in-flight write: this implementation's
    /// `.lode-put-*` or Go's `.lode-cas-*` (LODE_FORMAT.md §2.7).
    static func isTemporaryName<S: StringProtocol>(_ name: S) -> Bool {
        name.hasPrefix(".lode-put-") || name.hasPrefix(".lode-cas-")
    }

    /// The last `/`-segment of a key.
    static func lastSegment(_ key: String) -> Substring {
        guard let slash = key.lastIndex(of: "/") else { return key[...] }
        return key[key.index(after: slash)...]
    }
}

/// The compare step of ``ObjectStore/compareAndSwap(_:expected:replacement:)``, shared by the local stores.
enum CompareAndSwap {
    /// Passes when `current` (nil: no object) is exactly `expected` (`""`: must not exist).
    /// - Throws: ``LodeError/Code/snapshotConflict`` naming what the key holds.
    static func check(_ key: String, holds current: [UInt8]?, expected: String) throws(LodeError) {
        switch current {
        case nil where expected.isEmpty:
            return
        case let bytes? where bytes.elementsEqual(expected.utf8):
            return
        default:
            let found = current.map { "'\(String(decoding: $0, as: UTF8.self))'" } ?? "nothing"
            throw LodeError(
                .snapshotConflict,
                "'\(key)' holds \(found), not the expected '\(expected)': another writer committed; re-resolve "
                    + "the parent and retry", key: key, expected: expected,
                actual: current.map { String(decoding: $0, as: UTF8.self) })
        }
    }
}
