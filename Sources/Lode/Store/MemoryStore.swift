import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// An in-memory ``ObjectStore``: a dictionary behind a mutex. Puts are atomic and create-only; CAS follows
/// LODE_FORMAT.md §4.3 exactly. For tests and for short-lived tools.
///
/// ```swift
/// let store = MemoryStore()
/// try await store.put("a/b", [1, 2, 3])
/// ```
public final class MemoryStore: ObjectStore {
    private let objects = Mutex<[String: [UInt8]]>([:])

    public init() {}

    /// Every key and its bytes, for tests that inspect or tamper with the store.
    public var snapshot: [String: [UInt8]] {
        objects.withLock { $0 }
    }

    /// Replaces (or removes, with `nil`) an object without any create-only check: fault injection for tests.
    public func overwrite(_ key: String, with bytes: [UInt8]?) {
        objects.withLock { $0[key] = bytes }
    }

    public func put(_ key: String, _ bytes: [UInt8]) async throws {
        try ObjectKey.validate(key)
        try objects.withLock { objects in
            if objects[key] != nil { throw LodeError.pathExists(key) }
            objects[key] = bytes
        }
    }

    public func putFile(_ key: String, fromLocalFile path: String) async throws {
        try ObjectKey.validate(key)
        let bytes = try FileStore.readLocalFile(path)
        try await put(key, bytes)
    }

    public func get(_ key: String) async throws -> [UInt8] {
        try ObjectKey.validate(key)
        guard let bytes = objects.withLock({ $0[key] }) else { throw LodeError.notFound(key) }
        return bytes
    }

    public func getRange(_ key: String, offset: Int64, length: Int64) async throws -> [UInt8] {
        if offset < 0 || length < 0 {
            throw LodeError.invalidPath(key, "range offset \(offset) and length \(length) must not be negative")
        }
        if offset > Int64.max - length {
            throw LodeError.invalidPath(key, "range offset \(offset) + length \(length) overflows")
        }
        let bytes = try await get(key)
        if offset >= Int64(bytes.count) || length == 0 { return [] }
        let end = Int(min(Int64(bytes.count), offset + length))
        return Array(bytes[Int(offset)..<end])
    }

    public func openReader(_ key: String) async throws -> any ObjectReader {
        MemoryObjectReader(bytes: try await get(key))
    }

    public func head(_ key: String) async throws -> ObjectInfo? {
        try ObjectKey.validate(key)
        return objects.withLock { $0[key] }.map { ObjectInfo(key: key, size: Int64($0.count)) }
    }

    public func list(prefix: String) async throws -> [ObjectInfo] {
        try ObjectKey.validatePrefix(prefix)
        var found = objects.withLock { objects in
            objects.compactMap { key, bytes in
                key.hasPrefix(prefix) ? ObjectInfo(key: key, size: Int64(bytes.count)) : nil
            }
        }
        found.sort { ObjectKey.byteOrder($0.key, $1.key) }
        return found
    }

    /// Filters before it sorts, so a listing after a key (a dataset's head lookup after its pointer) sorts only
    /// what it returns.
    public func list(prefix: String, startAfter: String) async throws -> [ObjectInfo] {
        try ObjectKey.validatePrefix(prefix)
        var found = objects.withLock { objects in
            objects.compactMap { key, bytes in
                key.hasPrefix(prefix) && ObjectKey.byteOrder(startAfter, key)
                    ? ObjectInfo(key: key, size: Int64(bytes.count)) : nil
            }
        }
        found.sort { ObjectKey.byteOrder($0.key, $1.key) }
        return found
    }

    public func delete(_ key: String) async throws {
        try ObjectKey.validate(key)
        _ = objects.withLock { $0.removeValue(forKey: key) }
    }

    public func compareAndSwap(_ key: String, expected: String, replacement: String) async throws {
        try ObjectKey.validate(key)
        try objects.withLock { objects in
            let current = objects[key]
            try CompareAndSwap.check(key, holds: current, expected: expected)
            objects[key] = Array(replacement.utf8)
        }
    }
}

/// Sequential reads over a copy of an in-memory object.
final class MemoryObjectReader: ObjectReader {
    let size: Int64
    private let bytes: [UInt8]
    private let position = Mutex<Int>(0)

    init(bytes: [UInt8]) {
        self.bytes = bytes
        self.size = Int64(bytes.count)
    }

    func read(upTo maxCount: Int) async throws -> [UInt8] {
        position.withLock { position in
            let end = min(bytes.count, position + max(0, maxCount))
            defer { position = end }
            return Array(bytes[position..<end])
        }
    }

    func read(into buffer: inout [UInt8], upTo maxCount: Int) async throws -> Int {
        position.withLock { position in
            let end = min(bytes.count, position + max(0, maxCount))
            buffer.removeAll(keepingCapacity: true)
            buffer.append(contentsOf: bytes[position..<end])
            defer { position = end }
            return end - position
        }
    }
}

extension FileStore {
    /// Reads a whole local file (not an object) — for stores that cannot stream a local file.
    static func readLocalFile(_ path: String) throws -> [UInt8] {
        do {
            let fd = try POSIX.open(path, O_RDONLY)
            defer { POSIX.close(fd) }
            var bytes = [UInt8](repeating: 0, count: Int(try POSIX.fstat(fd, path: path).st_size))
            let count = try bytes.withUnsafeMutableBytes { raw in
                try POSIX.pread(fd, into: raw, offset: 0, path: path)
            }
            bytes.removeSubrange(count...)
            return bytes
        } catch {
            throw LodeError(error, key: nil)
        }
    }
}
