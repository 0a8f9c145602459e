import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// An ``ObjectStore`` over a local directory, durable and atomic where Go's FS store is not.
///
/// - Creating an object writes a temporary file `.lode-put-<random>` next to the final key, fsyncs it,
///   `link()`s it to the final name (which fails if the key exists, so two racing processes have exactly one
///   winner), unlinks the temporary name and fsyncs the directory (LODE_FORMAT.md §4.7, §8 A11). A half-written
///   object is therefore never visible under its final key, and ``list(prefix:)`` skips the temporary names.
/// - ``compareAndSwap(_:expected:replacement:)`` takes an exclusive `flock` on `<key>.lock` exactly like Go's
///   Unix FS store, so Swift and Go writers on one host exclude each other, then writes `.lode-cas-<random>` and
///   renames it over the key.
///
/// Blocking file I/O runs on the calling task; no lock is held across an `await`.
///
/// ```swift
/// let store = FileStore(root: "./archive")
/// try await store.put("datasets/orders/latest.txt", Array("x".utf8))
/// ```
public struct FileStore: ObjectStore {
    /// The root directory; keys are relative to it.
    public let root: String

    /// - Parameter root: the directory holding the objects. It is created on the first write if missing.
    public init(root: String) {
        var root = root
        while root.count > 1, root.hasSuffix("/") { root.removeLast() }
        self.root = root.isEmpty ? "." : root
    }

    /// The local path of `key` (after validating it).
    public func localPath(of key: String) throws(LodeError) -> String {
        try ObjectKey.validate(key)
        return root + "/" + key
    }

    public func put(_ key: String, _ bytes: [UInt8]) async throws {
        let final = try writablePath(key)
        let dir = POSIX.parentDirectory(final)
        do {
            try POSIX.makeDirectories(dir)
            if try POSIX.statIfExists(final) != nil { throw LodeError.pathExists(key) }
            let temp = dir + "/.lode-put-" + POSIX.randomSuffix()
            do {
                let fd = try POSIX.open(temp, O_WRONLY | O_CREAT | O_EXCL, mode: 0o644)
                defer { POSIX.close(fd) }
                try bytes.withUnsafeBytes { raw in try POSIX.writeAll(fd, raw, path: temp) }
                try POSIX.fsync(fd, path: temp)
            } catch {
                POSIX.unlink(temp)
                throw error
            }
            try publish(temp: temp, as: final, key: key, directory: dir)
        } catch let failure as POSIX.Failure {
            throw LodeError(failure, key: key)
        }
    }

    public func putFile(_ key: String, fromLocalFile path: String) async throws {
        let final = try writablePath(key)
        let dir = POSIX.parentDirectory(final)
        do {
            try POSIX.makeDirectories(dir)
            if try POSIX.statIfExists(final) != nil { throw LodeError.pathExists(key) }
            let source = try POSIX.open(path, O_RDONLY)
            defer { POSIX.close(source) }
            guard POSIX.isRegularFile(try POSIX.fstat(source, path: path)) else {
                throw LodeError(.invalidConfiguration, "'\(path)' is not a regular file; cannot publish it as '\(key)'")
            }
            // Same filesystem: link the (fsynced) source straight to the final key. link() is create-only.
            try POSIX.fsync(source, path: path)
            if Glibc.link(path, final) == 0 {
                try POSIX.fsyncDirectory(dir)
                return
            }
            let linkErrno = errno
            if linkErrno == EEXIST { throw LodeError.pathExists(key) }
            guard [EXDEV, EPERM, EMLINK, ENOTSUP, EOPNOTSUPP, EACCES].contains(linkErrno) else {
                throw POSIX.Failure(call: "link", path: final, errno: linkErrno)
            }
            // Another filesystem (or no hard links): stream a copy into a temporary file, then publish it.
            let temp = dir + "/.lode-put-" + POSIX.randomSuffix()
            do {
                let fd = try POSIX.open(temp, O_WRONLY | O_CREAT | O_EXCL, mode: 0o644)
                defer { POSIX.close(fd) }
                try copy(from: source, sourcePath: path, to: fd, targetPath: temp)
                try POSIX.fsync(fd, path: temp)
            } catch {
                POSIX.unlink(temp)
                throw error
            }
            try publish(temp: temp, as: final, key: key, directory: dir)
        } catch let failure as POSIX.Failure {
            throw LodeError(failure, key: failure.path == path ? nil : key)
        }
    }

    public func get(_ key: String) async throws -> [UInt8] {
        try readAll(key)
    }

    public func getRange(_ key: String, offset: Int64, length: Int64) async throws -> [UInt8] {
        try checkRange(key, offset: offset, length: length)
        let path = try localPath(of: key)
        do {
            let fd = try openExisting(path, key: key)
            defer { POSIX.close(fd) }
            let size = Int64(try POSIX.fstat(fd, path: path).st_size)
            if offset >= size || length == 0 { return [] }
            var bytes = [UInt8](repeating: 0, count: Int(min(length, size - offset)))
            let count = try bytes.withUnsafeMutableBytes { raw in
                try POSIX.pread(fd, into: raw, offset: offset, path: path)
            }
            bytes.removeSubrange(count...)
            return bytes
        } catch let failure as POSIX.Failure {
            throw LodeError(failure, key: key)
        }
    }

    public func openReader(_ key: String) async throws -> any ObjectReader {
        let path = try localPath(of: key)
        do {
            let fd = try openExisting(path, key: key)
            do {
                let size = Int64(try POSIX.fstat(fd, path: path).st_size)
                return FileObjectReader(fd: fd, size: size, path: path, key: key)
            } catch {
                POSIX.close(fd)
                throw error
            }
        } catch let failure as POSIX.Failure {
            throw LodeError(failure, key: key)
        }
    }

    public func head(_ key: String) async throws -> ObjectInfo? {
        let path = try localPath(of: key)
        do {
            guard let info = try POSIX.statIfExists(path), POSIX.isRegularFile(info) else { return nil }
            return ObjectInfo(key: key, size: Int64(info.st_size))
        } catch {
            throw LodeError(error, key: key)
        }
    }

    public func list(prefix: String) async throws -> [ObjectInfo] {
        try await list(prefix: prefix, startAfter: "")
    }

    /// Directories whose keys all sort before `startAfter` are not entered.
    public func list(prefix: String, startAfter: String) async throws -> [ObjectInfo] {
        try ObjectKey.validatePrefix(prefix)
        // Walk the deepest directory the prefix names completely, then filter by the plain string prefix.
        var directoryKey = ""
        if let slash = prefix.lastIndex(of: "/") { directoryKey = String(prefix[...slash]) }
        var found: [ObjectInfo] = []
        do {
            try walk(directoryKey: directoryKey, prefix: prefix, startAfter: startAfter, into: &found)
        } catch {
            throw LodeError(error, key: nil)
        }
        found.sort { ObjectKey.byteOrder($0.key, $1.key) }
        return found
    }

    public func delete(_ key: String) async throws {
        let path = try localPath(of: key)
        if Glibc.unlink(path) != 0 {
            let code = errno
            if code == ENOENT || code == ENOTDIR { return }
            throw LodeError(POSIX.Failure(call: "unlink", path: path, errno: code), key: key)
        }
        do {
            try POSIX.fsyncDirectory(POSIX.parentDirectory(path))
        } catch {
            throw LodeError(error, key: key)
        }
    }

    public func compareAndSwap(_ key: String, expected: String, replacement: String) async throws {
        let final = try localPath(of: key)
        let dir = POSIX.parentDirectory(final)
        do {
            try POSIX.makeDirectories(dir)
            // Same side file as Go's Unix FS store (`<pointer>.lock`, created if missing, never deleted), so Swift
            // and Go writers on one host serialise their swaps.
            let lockPath = final + ".lock"
            let lock = try POSIX.open(lockPath, O_RDWR | O_CREAT, mode: 0o644)
            defer { POSIX.close(lock) }
            while flock(lock, LOCK_EX) != 0 {
                if errno == EINTR { continue }
                throw POSIX.Failure(call: "flock", path: lockPath, errno: errno)
            }
            defer { _ = flock(lock, LOCK_UN) }

            let current: [UInt8]?
            if let info = try POSIX.statIfExists(final), POSIX.isRegularFile(info) {
                current = try readAll(key)
            } else {
                current = nil
            }
            try CompareAndSwap.check(key, holds: current, expected: expected)
            let temp = dir + "/.lode-cas-" + POSIX.randomSuffix()
            do {
                let fd = try POSIX.open(temp, O_WRONLY | O_CREAT | O_EXCL, mode: 0o644)
                defer { POSIX.close(fd) }
                var text = replacement
                try text.withUTF8 { utf8 in
                    try POSIX.writeAll(fd, UnsafeRawBufferPointer(utf8), path: temp)
                }
                try POSIX.fsync(fd, path: temp)
                guard Glibc.rename(temp, final) == 0 else {
                    throw POSIX.Failure(call: "rename", path: final, errno: errno)
                }
            } catch {
                POSIX.unlink(temp)
                throw error
            }
            try POSIX.fsyncDirectory(dir)
        } catch let failure as POSIX.Failure {
            throw LodeError(failure, key: key)
        }
    }

    // MARK: - Internals

    private func writablePath(_ key: String) throws(LodeError) -> String {
        let path = try localPath(of: key)
        if ObjectKey.isTemporaryName(ObjectKey.lastSegment(key)) {
            throw LodeError.invalidPath(key, "names starting with '.lode-put-' or '.lode-cas-' are reserved")
        }
        return path
    }

    /// Links the fsynced `temp` to `final` (create-only), removes the temporary name and fsyncs the directory.
    private func publish(temp: String, as final: String, key: String, directory: String) throws {
        if Glibc.link(temp, final) != 0 {
            let code = errno
            POSIX.unlink(temp)
            if code == EEXIST { throw LodeError.pathExists(key) }
            throw POSIX.Failure(call: "link", path: final, errno: code)
        }
        POSIX.unlink(temp)
        try POSIX.fsyncDirectory(directory)
    }

    /// Reads a whole object synchronously (also used under the CAS lock, where no `await` may happen).
    private func readAll(_ key: String) throws -> [UInt8] {
        let path = try localPath(of: key)
        do {
            let fd = try openExisting(path, key: key)
            defer { POSIX.close(fd) }
            let size = Int(try POSIX.fstat(fd, path: path).st_size)
            var bytes = [UInt8](repeating: 0, count: size)
            var count = try bytes.withUnsafeMutableBytes { raw in
                try POSIX.pread(fd, into: raw, offset: 0, path: path)
            }
            // Objects are immutable, but read to the real end in case the size changed under us.
            while count == bytes.count {
                bytes.append(contentsOf: [UInt8](repeating: 0, count: 64 * 1024))
                let more = try bytes[count...].withUnsafeMutableBytes { raw in
                    try POSIX.pread(fd, into: raw, offset: Int64(count), path: path)
                }
                count += more
                if more == 0 { break }
            }
            bytes.removeSubrange(count...)
            return bytes
        } catch let failure as POSIX.Failure {
            throw LodeError(failure, key: key)
        }
    }

    /// Opens an existing object for reading. Only regular files are objects: a FIFO, socket or device at a key
    /// is refused from its `stat`, before any `open` (opening a FIFO for read blocks until a writer appears, so
    /// `verify` or `restore` would hang forever).
    private func openExisting(_ path: String, key: String) throws -> Int32 {
        guard let info = try POSIX.statIfExists(path), !POSIX.isDirectory(info) else { throw LodeError.notFound(key) }
        guard POSIX.isRegularFile(info) else { throw Self.notRegular(key, path: path, mode: info.st_mode) }
        do {
            // O_NONBLOCK: should the file be swapped for a FIFO after the stat, the open still returns.
            let fd = try POSIX.open(path, O_RDONLY | O_NONBLOCK)
            let opened = try POSIX.fstat(fd, path: path)
            guard POSIX.isRegularFile(opened) else {
                POSIX.close(fd)
                throw Self.notRegular(key, path: path, mode: opened.st_mode)
            }
            return fd
        } catch let failure as POSIX.Failure where failure.errno == ENOENT || failure.errno == ENOTDIR {
            throw LodeError.notFound(key)
        }
    }

    private static func notRegular(_ key: String, path: String, mode: mode_t) -> LodeError {
        let kind: String
        switch mode & S_IFMT {
        case S_IFIFO: kind = "a FIFO (named pipe)"
        case S_IFSOCK: kind = "a socket"
        case S_IFCHR, S_IFBLK: kind = "a device"
        default: kind = "not a regular file"
        }
        return LodeError(
            .corruptData,
            "object '\(key)' is \(kind), not a regular file ('\(path)'); objects are regular files only: replace "
                + "it with the original object from a replica or backup", key: key)
    }

    private func copy(from source: Int32, sourcePath: String, to target: Int32, targetPath: String) throws {
        var buffer = [UInt8](repeating: 0, count: 1 << 20)
        var offset: Int64 = 0
        while true {
            let count = try buffer.withUnsafeMutableBytes { raw in
                try POSIX.pread(source, into: raw, offset: offset, path: sourcePath)
            }
            if count == 0 { return }
            try buffer.withUnsafeBytes { raw in
                try POSIX.writeAll(target, UnsafeRawBufferPointer(rebasing: raw[0..<count]), path: targetPath)
            }
            offset += Int64(count)
        }
    }

    private func checkRange(_ key: String, offset: Int64, length: Int64) throws(LodeError) {
        if offset < 0 || length < 0 {
            throw LodeError.invalidPath(key, "range offset \(offset) and length \(length) must not be negative")
        }
        if offset > Int64.max - length {
            throw LodeError.invalidPath(key, "range offset \(offset) + length \(length) overflows")
        }
    }

    private func walk(
        directoryKey: String, prefix: String, startAfter: String, into found: inout [ObjectInfo]
    ) throws {
        let directoryPath = directoryKey.isEmpty ? root : root + "/" + directoryKey.dropLast()
        guard let dir = opendir(directoryPath) else {
            if errno == ENOENT || errno == ENOTDIR { return }
            throw POSIX.Failure(call: "opendir", path: directoryPath, errno: errno)
        }
        defer { closedir(dir) }
        let dirFD = dirfd(dir)
        let bounds = ListingBounds(directoryKey: directoryKey, prefix: prefix, startAfter: startAfter)
        var subdirectories: [String] = []
        while let entry = readdir(dir) {
            // Decided from the name alone, before any stat: a start-after listing of a directory of 100k
            // snapshots then costs one readdir pass, not 100k stat calls and key strings.
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                let bytes = UnsafeRawBufferPointer(
                    start: raw.baseAddress, count: strlen(raw.baseAddress!.assumingMemoryBound(to: CChar.self)))
                return bounds.mayHold(bytes) ? String(decoding: bytes, as: UTF8.self) : nil
            }
            guard let name, name != ".", name != ".." else { continue }
            let key = directoryKey + name
            var info = stat()
            if fstatat(dirFD, name, &info, AT_SYMLINK_NOFOLLOW) != 0 {
                if errno == ENOENT { continue }  // removed while listing
                throw POSIX.Failure(call: "stat", path: directoryPath + "/" + name, errno: errno)
            }
            // Like Go's WalkDir: never descend through a symbolic link (no loops); a link to a file is an object.
            let isLink = (info.st_mode & S_IFMT) == S_IFLNK
            if isLink, fstatat(dirFD, name, &info, 0) != 0 || POSIX.isDirectory(info) { continue }
            if POSIX.isDirectory(info) {
                let childKey = key + "/"
                // Every key under `childKey` starts with it: all sort before `startAfter` unless it is a prefix.
                let allBefore = ObjectKey.byteOrder(childKey, startAfter) && !startAfter.hasPrefix(childKey)
                if (childKey.hasPrefix(prefix) || prefix.hasPrefix(childKey)) && !allBefore {
                    subdirectories.append(childKey)
                }
            } else if POSIX.isRegularFile(info), key.hasPrefix(prefix), !ObjectKey.isTemporaryName(name),
                ObjectKey.byteOrder(startAfter, key)
            {
                found.append(ObjectInfo(key: key, size: Int64(info.st_size)))
            }
        }
        for child in subdirectories {
            try walk(directoryKey: child, prefix: prefix, startAfter: startAfter, into: &found)
        }
    }
}

/// What a listing's prefix and start-after key allow in one directory, judged on an entry's name bytes.
private struct ListingBounds {
    /// The part of the prefix below the directory (entries must start with it, or be a prefix of it).
    let prefixRest: [UInt8]
    /// The part of `startAfter` below the directory; nil when every entry sorts after `startAfter`.
    let startRest: [UInt8]?
    /// True when `startAfter` sorts after every key of the directory.
    let allBefore: Bool

    init(directoryKey: String, prefix: String, startAfter: String) {
        let directory = Array(directoryKey.utf8)
        prefixRest = Array(prefix.utf8.dropFirst(min(directory.count, prefix.utf8.count)))
        let start = Array(startAfter.utf8)
        if start.starts(with: directory) {
            startRest = Array(start[directory.count...])
            allBefore = false
        } else {
            startRest = nil
            allBefore = !start.lexicographicallyPrecedes(directory)
        }
    }

    /// False only when no key at or under `name` (as a file or as a directory) can be listed: it lies outside
    /// the prefix, or it and everything under it sort at or before `startAfter`. True otherwise (also for `.`).
    /// Compares bytes in place: it runs for every entry of a directory that may hold 100k snapshots.
    func mayHold(_ name: UnsafeRawBufferPointer) -> Bool {
        if allBefore { return false }
        let slash = UInt8(ascii: "/")
        let inPrefix =
            Self.compare(name, prefixRest, count: prefixRest.count) == 0
            || (prefixRest.count > name.count && Self.compare(name, prefixRest, count: name.count) == 0
                && prefixRest[name.count] == slash)
        guard inPrefix else { return false }
        guard let startRest else { return true }
        // As a file: listed when `name` sorts after `startRest`. As a directory: entered unless `name/` sorts
        // before `startRest` without being its prefix. `name/…` sorts after `name`, so this covers both.
        let common = min(name.count, startRest.count)
        let order = Self.compare(name, startRest, count: common)
        if order != 0 { return order > 0 }
        return name.count >= startRest.count || startRest[name.count] <= slash
    }

    /// memcmp of the first `count` bytes; -1 when `name` is shorter than `count` (it cannot start with them).
    private static func compare(_ name: UnsafeRawBufferPointer, _ bytes: [UInt8], count: Int) -> Int32 {
        guard count > 0 else { return 0 }
        guard name.count >= count else { return -1 }
        return bytes.withUnsafeBytes { memcmp(name.baseAddress!, $0.baseAddress!, count) }
    }
}

extension LodeError {
    init(_ error: any Error, key: String?, file: String = #fileID, line: Int = #line) {
        if let error = error as? LodeError {
            self = error
        } else if let failure = error as? POSIX.Failure {
            self.init(failure, key: key, file: file, line: line)
        } else {
            self.init(.io, "I/O failed", key: key, cause: String(describing: error), file: file, line: line)
        }
    }
}

/// Sequential reads over an open file with `pread`; the offset lives behind a mutex so the reader is Sendable.
final class FileObjectReader: ObjectReader {
    let size: Int64
    private let fd: Int32
    private let path: String
    private let key: String
    private let offset = Mutex<Int64>(0)

    init(fd: Int32, size: Int64, path: String, key: String) {
        self.fd = fd
        self.size = size
        self.path = path
        self.key = key
    }

    deinit { POSIX.close(fd) }

    func read(upTo maxCount: Int) async throws -> [UInt8] {
        var buffer: [UInt8] = []
        _ = try await read(into: &buffer, upTo: maxCount)
        return buffer
    }

    func read(into buffer: inout [UInt8], upTo maxCount: Int) async throws -> Int {
        let (fd, path) = (self.fd, self.path)
        do {
            return try offset.withLock { (position) throws -> Int in
                let want = Int(max(0, min(Int64(maxCount), size - position)))
                if buffer.count != want {
                    if buffer.count > want {
                        buffer.removeSubrange(want...)
                    } else {
                        buffer.append(contentsOf: repeatElement(0, count: want - buffer.count))
                    }
                }
                if want == 0 { return 0 }
                let count = try buffer.withUnsafeMutableBytes { raw in
                    try POSIX.pread(fd, into: raw, offset: position, path: path)
                }
                if count < want { buffer.removeSubrange(count...) }
                position += Int64(count)
                return count
            }
        } catch {
            throw LodeError(error, key: key)
        }
    }
}
