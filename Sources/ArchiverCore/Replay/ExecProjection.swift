import ArchiveFormat
import Foundation
import RawJSON

/// A projection in any language: a child process fed events as JSON lines on stdin.
///
/// Protocol (docs/REPLAY.md): each event is one line
/// `{"position":…,"stream":…,"version":…,"id":…,"type":…,"recorded_at":…,"data":…,"metadata":…}`;
/// stdin closes after the last event. Every line the child prints on stdout must be a JSON value and becomes an
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
        buffer.reserveCapacity(1 << 16)
    }

    deinit {
        if process.isRunning { process.terminate() }
    }

    public func apply(_ event: ReplayEvent) throws {
        buffer.append(contentsOf: #"{"position":\#(event.position),"stream":"#.utf8)
        RawJSON.appendQuoted(event.stream, to: &buffer)
        buffer.append(contentsOf: #","version":\#(event.version),"id":"#.utf8)
        RawJSON.appendQuoted(event.id, to: &buffer)
        buffer.append(contentsOf: #","type":"#.utf8)
        RawJSON.appendQuoted(event.type, to: &buffer)
        buffer.append(contentsOf: #","recorded_at":""#.utf8)
        ArchiveTime.appendRFC3339Micros(event.recordedAtNanos, to: &buffer)
        buffer.append(contentsOf: #"","data":"#.utf8)
        buffer.append(contentsOf: event.data)
        buffer.append(contentsOf: #","metadata":"#.utf8)
        buffer.append(contentsOf: event.metadata)
        buffer.append(contentsOf: "}\n".utf8)
        if buffer.count >= 1 << 16 { try flushBuffer() }
    }

    private func flushBuffer() throws {
        guard !buffer.isEmpty else { return }
        do {
            try stdinPipe.fileHandleForWriting.write(contentsOf: buffer)
        } catch {
            // The child stopped reading: most likely it exited; report its status and stderr.
            try finish()
            throw ArchiverError(.projectionFailed, "projector `\(command)` stopped reading its input")
        }
        buffer.removeAll(keepingCapacity: true)
    }

    /// Closes the child's stdin and waits for it; throws if it failed.
    public func finish() throws {
        guard !finished else { return }
        finished = true
        try? stdinPipe.fileHandleForWriting.write(contentsOf: buffer)
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
    public func rows() throws -> [ProjectedRow] {
        try finish()
        var rows: [ProjectedRow] = []
        let text = String(decoding: collected.stdout, as: UTF8.self)
        for (index, line) in text.split(separator: "\n", omittingEmptySubsequences: true).enumerated() {
            let lineText = String(line)
            do {
                try RawJSON.validate(lineText)
            } catch {
                throw ArchiverError(
                    .projectionFailed,
                    "projector `\(command)` printed a line that is not JSON (line \(index + 1)): \(error)")
            }
            rows.append(ProjectedRow(key: String(format: "%012d", index), json: lineText))
        }
        return rows
    }

    public func restore(rows: [ProjectedRow]) throws {
        throw ArchiverError(.invalidArgument, "an --exec projector cannot start from an aggregate snapshot")
    }
}
