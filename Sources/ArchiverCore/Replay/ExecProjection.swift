import ArchiveFormat
import Foundation
import RawJSON

/// A projection in any language: a child process fed events as JSON lines on stdin.
///
/// Protocol (docs/REPLAY.md): each event is one line in the shape `read` and HTTP use, plus `recorded_at` for
/// projectors written before `recorded_at_ns` was there:
/// `{"position":…,"stream":…,"version":…,"id":…,"type":…,"recorded_at_ns":…,"recorded_at":…,"data":…,"metadata":…}`;
/// stdin closes after the last event. Events go to the child in writes of ``writeSize`` bytes, not one per event. Every line the child prints on stdout must be a JSON value and becomes an
/// output row, in order. Exit status 0 means success; anything else fails the replay with the status and
/// the tail of the child's stderr.
public final class ExecProjection: Projection {
    public let command: String
    private let process = Process()
    private let stdinPipe = Pipe()
    private let stdoutPipe = Pipe()
    private let stderrPipe = Pipe()
    private var buffer: [UInt8] = []
    private let collected = Collected()
    private var finished = false

    final class Collected: @unchecked Sendable {
        let lock = NSLock()
        var stdout: [UInt8] = []
        var stderr: [UInt8] = []
        let done = DispatchGroup()
    }

    public var identity: ProjectionIdentity { ProjectionIdentity(name: "exec", version: command) }

    /// Starts `command` with `/bin/sh -c`.
    public init(command: String) throws {
        self.command = command
        process.executableURL = URL(fileURLWithPath: "/bin/sh")
        process.arguments = ["-c", command]
        process.standardInput = stdinPipe
        process.standardOutput = stdoutPipe
        process.standardError = stderrPipe
        signal(SIGPIPE, SIG_IGN)
        do {
            try process.run()
        } catch {
            throw ArchiverError(.projectionFailed, "cannot start projector `\(command)`: \(error)")
        }
        Self.widen(stdinPipe)
        let collected = self.collected
        for (pipe, isOut) in [(stdoutPipe, true), (stderrPipe, false)] {
            collected.done.enter()
            let handle = pipe.fileHandleForReading
            Thread.detachNewThread {
                while true {
                    let chunk = handle.availableData
                    if chunk.isEmpty { break }
                    collected.lock.lock()
                    if isOut {
                        collected.stdout.append(contentsOf: chunk)
                    } else {
                        collected.stderr.append(contentsOf: chunk)
                    }
                    collected.lock.unlock()
                }
                collected.done.leave()
            }
        }
        buffer.reserveCapacity(Self.writeSize + (1 << 16))
    }

    deinit {
        if process.isRunning { process.terminate() }
    }

    /// How many bytes of event lines are gathered before one write to the child.
    static let writeSize = 1 << 18

    /// Grows the pipe to the child's stdin to one write's size (Linux `F_SETPIPE_SZ`), so that a write is taken
    /// whole rather than in 64 KiB pieces, each waking the child; the default size stays when the system refuses.
    private static func widen(_ pipe: Pipe) {
        #if os(Linux)
        let setPipeSize: Int32 = 1031  // F_SETPIPE_SZ, which Glibc's module does not export
        _ = fcntl(pipe.fileHandleForWriting.fileDescriptor, setPipeSize, Int32(writeSize))
        #endif
    }

    public func apply(_ event: ReplayEvent) throws {
        RenderedEvent.append(event, to: &buffer)
        buffer.append(UInt8(ascii: "\n"))
        if buffer.count >= Self.writeSize { try flushBuffer() }
    }

    private func flushBuffer() throws {
        guard !buffer.isEmpty else { return }
        guard writeAll(buffer) else {
            // The child stopped reading: most likely it exited; report its status and stderr.
            try finish()
            throw ArchiverError(.projectionFailed, "projector `\(command)` stopped reading its input")
        }
        buffer.removeAll(keepingCapacity: true)
    }

    /// write(2) straight from the buffer until all of it is written; false when the child closed its stdin.
    private func writeAll(_ bytes: [UInt8]) -> Bool {
        let fd = stdinPipe.fileHandleForWriting.fileDescriptor
        return bytes.withUnsafeBytes { all in
            var done = 0
            while done < all.count {
                let n = write(fd, all.baseAddress! + done, all.count - done)
                if n < 0 && errno == EINTR { continue }
                guard n > 0 else { return false }
                done += n
            }
            return true
        }
    }

    /// Closes the child's stdin and waits for it; throws if it failed.
    public func finish() throws {
        guard !finished else { return }
        finished = true
        _ = writeAll(buffer)
        buffer.removeAll()
        try? stdinPipe.fileHandleForWriting.close()
        process.waitUntilExit()
        collected.done.wait()
        guard process.terminationReason == .exit, process.terminationStatus == 0 else {
            let tail = String(decoding: collected.stderr.suffix(2000), as: UTF8.self)
                .split(separator: "\n").suffix(5).joined(separator: " | ")
            let how =
                process.terminationReason == .exit
                ? "exited with status \(process.terminationStatus)"
                : "was killed by signal \(process.terminationStatus)"
            throw ArchiverError(.projectionFailed, "projector `\(command)` \(how)" + (tail.isEmpty ? "" : ": \(tail)"))
        }
    }

    /// The child's output lines, each validated as JSON. Call after all events were applied.
    ///
    /// Each row's key is its line number, zero-padded to 12 digits (`000000000000` for the first line), so
    /// that keys sort in output order.
    public func rows() throws -> [ProjectedRow] { try rowStream.collect() }

    /// The output lines straight from the collected output. All lines are checked before the first is handed
    /// out, so that a bad line fails the replay before a sink has written anything.
    public var rowStream: RowStream {
        RowStream { body in
            try self.finish()
            try self.collected.stdout.withUnsafeBytes { output in
                try Self.forEachLine(output) { index, line in
                    do {
                        try RawJSON.validate(line)
                    } catch {
                        throw ArchiverError(
                            .projectionFailed,
                            "projector `\(self.command)` printed a line that is not JSON (line \(index + 1)): \(error)")
                    }
                }
                try Self.forEachLine(output) { index, line in try body(Self.rowKey(index), line) }
            }
        }
    }

    /// Calls `body` with each non-empty line of `output` and its index among them (\r\n counts as one ending).
    private static func forEachLine(
        _ output: UnsafeRawBufferPointer, _ body: (Int, UnsafeRawBufferPointer) throws -> Void
    ) rethrows {
        var start = 0
        var index = 0
        while start < output.count {
            let found = memchr(output.baseAddress! + start, 0x0A, output.count - start)
            let end = found.map { UnsafeRawPointer($0) - output.baseAddress! } ?? output.count
            defer { start = end + 1 }
            let lineEnd = end > start && output[end - 1] == 0x0D ? end - 1 : end
            guard lineEnd > start else { continue }
            try body(index, UnsafeRawBufferPointer(rebasing: output[start..<lineEnd]))
            index += 1
        }
    }

    /// `index` in 12 digits, zero-padded (what `String(format: "%012d")` gives, without Foundation's formatter).
    static func rowKey(_ index: Int) -> String {
        let digits = String(index)
        return digits.count >= 12 ? digits : String(repeating: "0", count: 12 - digits.count) + digits
    }

    public func restore(rows: [ProjectedRow]) throws {
        throw ArchiverError(.invalidArgument, "an --exec projector cannot start from an aggregate snapshot")
    }
}
