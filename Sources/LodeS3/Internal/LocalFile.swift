import Lode
import NIOCore
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// A local file opened for positional reads (`pread`), shared by concurrent part uploads; closed on deinit.
final class LocalFile: Sendable {
    let path: String
    let size: Int64
    private let fd: Int32

    /// Opens `path` read-only.
    /// - Throws: ``Lode/LodeError/Code/io`` when it cannot be opened, ``Lode/LodeError/Code/invalidConfiguration``
    ///   when it is not a regular file.
    init(path: String) throws(LodeError) {
        let fd = Glibc.open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else {
            throw LodeError(.io, "cannot open '\(path)' for upload", cause: String(cString: strerror(errno)))
        }
        var info = stat()
        guard fstat(fd, &info) == 0, (info.st_mode & S_IFMT) == S_IFREG else {
            Glibc.close(fd)
            throw LodeError(.invalidConfiguration, "'\(path)' is not a regular file; cannot upload it")
        }
        self.fd = fd
        self.path = path
        self.size = Int64(info.st_size)
    }

    deinit { Glibc.close(fd) }

    /// Exactly `count` bytes at `offset`, read straight into a buffer that is sent as a request body.
    func read(offset: Int64, count: Int) throws(LodeError) -> ByteBuffer {
        var buffer = ByteBufferAllocator().buffer(capacity: count)
        var failure: Int32 = 0
        buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: count) { raw in
            var done = 0
            while done < count {
                let n = pread(fd, raw.baseAddress! + done, count - done, off_t(offset) + off_t(done))
                if n < 0 {
                    if errno == EINTR { continue }
                    failure = errno
                    return done
                }
                if n == 0 { break }
                done += n
            }
            return done
        }
        if failure != 0 {
            throw LodeError(.io, "reading '\(path)' for upload failed", cause: String(cString: strerror(failure)))
        }
        guard buffer.readableBytes == count else {
            throw LodeError(
                .io, "'\(path)' shrank while it was being uploaded (read \(buffer.readableBytes) of \(count) bytes)")
        }
        return buffer
    }
}
