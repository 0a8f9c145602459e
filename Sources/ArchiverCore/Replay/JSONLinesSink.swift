import Foundation

/// Writes one JSON row per line to stdout, or to a file: atomically (temp file + rename) when the path is a
/// regular file or does not exist yet, directly when it is something else (a pipe, /dev/null), which a rename
/// would replace.
public struct JSONLinesSink: RowSink {
    /// nil: stdout.
    public let path: String?

    public init(path: String?) {
        self.path = path
    }

    public func write(_ rows: [ProjectedRow]) throws {
        var out: [UInt8] = []
        out.reserveCapacity(rows.count * 128)
        for row in rows {
            out.append(contentsOf: row.json.utf8)
            out.append(0x0A)
        }
        guard let path else {
            FileHandle.standardOutput.write(Data(out))
            return
        }
        // FileManager rather than stat(2): which Clang module owns sys/stat.h shifts with the dependency graph.
        let type = (try? FileManager.default.attributesOfItem(atPath: path))?[.type] as? FileAttributeType
        if let type, type != .typeRegular {
            guard let handle = FileHandle(forWritingAtPath: path) else {
                throw ArchiverError(.invalidArgument, "cannot write \(path): check it is writable")
            }
            try handle.write(contentsOf: out)
            try handle.close()
            return
        }
        let temp = path + ".tmp-\(getpid())"
        guard FileManager.default.createFile(atPath: temp, contents: Data(out)) else {
            throw ArchiverError(.invalidArgument, "cannot write \(path): check the directory exists and is writable")
        }
        guard rename(temp, path) == 0 else {
            unlink(temp)
            throw ArchiverError(.invalidArgument, "cannot replace \(path): \(String(cString: strerror(errno)))")
        }
    }
}
