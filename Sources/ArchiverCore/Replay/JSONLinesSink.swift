import Foundation

/// Writes one JSON row per line to stdout, or to a file: atomically (temp file + rename) when the path is a
/// regular file or does not exist yet, directly when it is something else (a pipe, /dev/null), which a rename
/// would replace.
///
/// Rows go out in writes of ``writeSize`` bytes: the output is never held whole in memory (for a million rows
/// that was two copies of about 100 MB each, on top of the rows), and rows from a ``RowStream`` are written as
/// they are made.
public struct JSONLinesSink: RowSink {
    /// nil: stdout.
    public let path: String?

    static let writeSize = 1 << 20

    public init(path: String?) {
        self.path = path
    }

    public func write(_ rows: [ProjectedRow]) throws { try write(RowStream(rows)) }

    public func write(_ rows: RowStream) throws {
        guard let path else {
            try Self.write(rows, to: FileHandle.standardOutput.fileDescriptor, name: "stdout")
            return
        }
        // FileManager rather than stat(2): which Clang module owns sys/stat.h shifts with the dependency graph.
        let type = (try? FileManager.default.attributesOfItem(atPath: path))?[.type] as? FileAttributeType
        if let type, type != .typeRegular {
            guard let handle = FileHandle(forWritingAtPath: path) else {
                throw ArchiverError(.invalidArgument, "cannot write \(path): check it is writable")
            }
            defer { try? handle.close() }
            try Self.write(rows, to: handle.fileDescriptor, name: path)
            return
        }
        let temp = path + ".tmp-\(getpid())"
        guard FileManager.default.createFile(atPath: temp, contents: nil),
            let handle = FileHandle(forWritingAtPath: temp)
        else {
            throw ArchiverError(.invalidArgument, "cannot write \(path): check the directory exists and is writable")
        }
        do {
            try Self.write(rows, to: handle.fileDescriptor, name: path)
            try handle.close()
        } catch {
            try? handle.close()
            unlink(temp)
            throw error
        }
        guard rename(temp, path) == 0 else {
            unlink(temp)
            throw ArchiverError(.invalidArgument, "cannot replace \(path): \(String(cString: strerror(errno)))")
        }
    }

    /// The rows as lines to `fd`, a buffer of ``writeSize`` at a time.
    private static func write(_ rows: RowStream, to fd: Int32, name: String) throws {
        var out: [UInt8] = []
        out.reserveCapacity(writeSize + (1 << 16))
        try rows.forEach { _, json in
            out.append(contentsOf: json)
            out.append(0x0A)
            if out.count >= writeSize {
                try writeAll(out, to: fd, name: name)
                out.removeAll(keepingCapacity: true)
            }
        }
        try writeAll(out, to: fd, name: name)
    }

    private static func writeAll(_ bytes: [UInt8], to fd: Int32, name: String) throws {
        try bytes.withUnsafeBytes { all in
            var done = 0
            while done < all.count {
                let n = Foundation.write(fd, all.baseAddress! + done, all.count - done)
                if n < 0 && errno == EINTR { continue }
                guard n > 0 else {
                    throw ArchiverError(.invalidArgument, "cannot write \(name): \(String(cString: strerror(errno)))")
                }
                done += n
            }
        }
    }
}
