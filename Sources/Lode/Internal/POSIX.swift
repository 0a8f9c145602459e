#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// `strerror` text plus the number, e.g. "No such file or directory (errno 2)".
func describeErrno(_ code: Int32) -> String {
    guard let text = strerror(code) else { return "errno \(code)" }
    return "\(String(cString: text)) (errno \(code))"
}

/// Thin, throwing wrappers over the few POSIX calls the file store and the staging writer use.
/// Every function retries on `EINTR`; every failure carries the path it was about.
enum POSIX {
    struct Failure: Error {
        var call: String
        var path: String
        var errno: Int32
    }

    static func open(_ path: String, _ flags: Int32, mode: mode_t = 0o644) throws -> Int32 {
        while true {
            let fd = Glibc.open(path, flags | O_CLOEXEC, mode)
            if fd >= 0 { return fd }
            if errno == EINTR { continue }
            throw Failure(call: "open", path: path, errno: errno)
        }
    }

    static func close(_ fd: Int32) {
        _ = Glibc.close(fd)
    }

    static func fstat(_ fd: Int32, path: String) throws -> stat {
        var info = stat()
        guard Glibc.fstat(fd, &info) == 0 else { throw Failure(call: "fstat", path: path, errno: errno) }
        return info
    }

    /// `stat` that reports a missing path (or a missing parent directory) as `nil`.
    static func statIfExists(_ path: String) throws -> stat? {
        var info = stat()
        if stat(path, &info) == 0 { return info }
        if errno == ENOENT || errno == ENOTDIR { return nil }
        throw Failure(call: "stat", path: path, errno: errno)
    }

    static func isDirectory(_ info: stat) -> Bool { (info.st_mode & S_IFMT) == S_IFDIR }
    static func isRegularFile(_ info: stat) -> Bool { (info.st_mode & S_IFMT) == S_IFREG }

    static func writeAll(_ fd: Int32, _ bytes: UnsafeRawBufferPointer, path: String) throws {
        guard var base = bytes.baseAddress else { return }
        var left = bytes.count
        while left > 0 {
            let written = Glibc.write(fd, base, left)
            if written < 0 {
                if errno == EINTR { continue }
                throw Failure(call: "write", path: path, errno: errno)
            }
            base += written
            left -= written
        }
    }

    /// Reads up to `count` bytes at `offset` into `buffer`, looping over short reads; returns the count read
    /// (less than `count` only at end of file).
    static func pread(
        _ fd: Int32, into buffer: UnsafeMutableRawBufferPointer, offset: Int64, path: String
    ) throws -> Int {
        guard let base = buffer.baseAddress else { return 0 }
        var done = 0
        while done < buffer.count {
            let got = Glibc.pread(fd, base + done, buffer.count - done, off_t(offset) + off_t(done))
            if got < 0 {
                if errno == EINTR { continue }
                throw Failure(call: "pread", path: path, errno: errno)
            }
            if got == 0 { break }
            done += got
        }
        return done
    }

    static func fsync(_ fd: Int32, path: String) throws {
        while Glibc.fsync(fd) != 0 {
            if errno == EINTR { continue }
            throw Failure(call: "fsync", path: path, errno: errno)
        }
    }

    /// fsyncs a directory so that a link, rename or unlink inside it survives a crash.
    static func fsyncDirectory(_ path: String) throws {
        let fd = try open(path, O_RDONLY | O_DIRECTORY)
        defer { close(fd) }
        try fsync(fd, path: path)
    }

    /// `mkdir -p` with mode 0755; fsyncs the parent of every directory it creates, so a later object in it is
    /// reachable after a crash.
    static func makeDirectories(_ path: String) throws {
        if let info = try statIfExists(path) {
            guard isDirectory(info) else { throw Failure(call: "mkdir", path: path, errno: ENOTDIR) }
            return
        }
        let parent = parentDirectory(path)
        if parent != path { try makeDirectories(parent) }
        if Glibc.mkdir(path, 0o755) != 0 {
            if errno == EEXIST { return }  // another writer made it first
            throw Failure(call: "mkdir", path: path, errno: errno)
        }
        try fsyncDirectory(parent)
    }

    static func parentDirectory(_ path: String) -> String {
        guard let slash = path.utf8.lastIndex(of: UInt8(ascii: "/")) else { return "." }
        if slash == path.utf8.startIndex { return "/" }
        return String(path[..<slash])
    }

    static func unlink(_ path: String) {
        _ = Glibc.unlink(path)
    }

    /// A random lowercase-hex suffix for temporary names.
    static func randomSuffix() -> String {
        let value = UInt64.random(in: .min ... .max)
        let hex = String(value, radix: 16)
        return String(repeating: "0", count: 16 - hex.count) + hex
    }
}

extension LodeError {
    init(_ failure: POSIX.Failure, key: String?, file: String = #fileID, line: Int = #line) {
        let code: Code = failure.errno == ENOENT ? .notFound : .io
        self.init(code, failure.explanation, key: key, cause: describeErrno(failure.errno), file: file, line: line)
    }
}

extension POSIX.Failure {
    /// One line naming what failed, where, the errno's meaning and, for the errors an operator can fix, the fix:
    /// the CLI prints only this line, so "write failed" alone would hide a full disk.
    var explanation: String {
        let acting =
            call == "write" || call == "fsync" || call == "link" || call == "rename" ? "writing" : "in \(call) of"
        switch errno {
        case ENOSPC:
            return "no space left on device (ENOSPC) \(acting) '\(path)'; free space and retry (objects are "
                + "create-only: a failed write leaves no partial object)"
        case EDQUOT:
            return "disk quota exceeded (EDQUOT) \(acting) '\(path)'; raise the quota or free space and retry"
        case EACCES, EPERM:
            let name = errno == EACCES ? "EACCES" : "EPERM"
            return "permission denied (\(name)) \(acting) '\(path)'; give this process write access to that "
                + "directory (owner or mode) and retry"
        case EROFS:
            return "read-only file system (EROFS) \(acting) '\(path)'; mount it read-write and retry"
        default:
            return "\(call) of '\(path)' failed: \(describeErrno(errno))"
        }
    }
}
