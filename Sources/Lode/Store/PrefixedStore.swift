/// A view of another store under a key prefix, e.g. `aggregates/`: every key is prefixed on the way in and the
/// prefix is stripped from listings, so a dataset inside it has the usual Lode layout relative to the prefix.
///
/// ```swift
/// let aggregates = PrefixedStore(base: store, prefix: "aggregates/")
/// ```
public struct PrefixedStore: ObjectStore {
    public let base: any ObjectStore
    /// Ends with `/`.
    public let prefix: String

    public init(base: any ObjectStore, prefix: String) {
        self.base = base
        self.prefix = prefix.hasSuffix("/") ? prefix : prefix + "/"
    }

    public func put(_ key: String, _ bytes: [UInt8]) async throws { try await base.put(prefix + key, bytes) }
    public func putFile(_ key: String, fromLocalFile path: String) async throws {
        try await base.putFile(prefix + key, fromLocalFile: path)
    }
    public func get(_ key: String) async throws -> [UInt8] { try await base.get(prefix + key) }
    public func getRange(_ key: String, offset: Int64, length: Int64) async throws -> [UInt8] {
        try await base.getRange(prefix + key, offset: offset, length: length)
    }
    public func openReader(_ key: String) async throws -> any ObjectReader { try await base.openReader(prefix + key) }
    public func head(_ key: String) async throws -> ObjectInfo? {
        try await base.head(prefix + key).map { ObjectInfo(key: key, size: $0.size) }
    }
    public func list(prefix listPrefix: String) async throws -> [ObjectInfo] {
        try await base.list(prefix: prefix + listPrefix).map {
            ObjectInfo(key: String($0.key.dropFirst(prefix.count)), size: $0.size)
        }
    }
    public func delete(_ key: String) async throws { try await base.delete(prefix + key) }
    public func compareAndSwap(_ key: String, expected: String, replacement: String) async throws {
        try await base.compareAndSwap(prefix + key, expected: expected, replacement: replacement)
    }
}
