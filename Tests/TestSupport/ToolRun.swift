public import Foundation

/// How a reference tool run ended and what it printed.
public struct ToolOutput: Sendable {
    public var status: Int32
    public var stdout: [UInt8]
    public var stderr: [UInt8]

    public var text: String { String(decoding: stdout, as: UTF8.self) }
    public var errorText: String { String(decoding: stderr, as: UTF8.self) }
}

/// Runs a reference tool (`zstd`, `md5sum`, `python3`, …) to its end with `stdin` as its input, on threads of its
/// own. Awaiting it leaves Swift's cooperative pool, two threads on a two-core machine, to the tests running
/// beside it: a blocking read or `waitUntilExit` there would hold one of those threads for the tool's whole run.
///
/// - Parameter tool: a path, or a name looked up on `PATH`.
public func runTool(_ tool: String, _ arguments: [String] = [], stdin: [UInt8]? = nil) async throws -> ToolOutput {
    try await withCheckedThrowingContinuation { continuation in
        Thread.detachNewThread {
            continuation.resume(with: Result { try runToolBlocking(tool, arguments, stdin: stdin) })
        }
    }
}

/// `python3` with `arguments` (a script path or `-c` and its text first); a non-zero exit is a thrown
/// ``ToolFailure`` carrying its standard error.
public func runPython(_ arguments: [String], stdin: [UInt8]? = nil) async throws -> [UInt8] {
    let output = try await runTool("python3", arguments, stdin: stdin)
    guard output.status == 0 else { throw ToolFailure(tool: "python3", output: output) }
    return output.stdout
}

/// A reference tool that exited with a non-zero status.
public struct ToolFailure: Error, CustomStringConvertible {
    public var tool: String
    public var output: ToolOutput

    public var description: String { "\(tool) exited with \(output.status): \(output.errorText)" }
}

private func runToolBlocking(_ tool: String, _ arguments: [String], stdin: [UInt8]?) throws -> ToolOutput {
    let process = Process()
    if tool.contains("/") {
        process.executableURL = URL(fileURLWithPath: tool)
        process.arguments = arguments
    } else {
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = [tool] + arguments
    }
    let input = Pipe()
    let output = Pipe()
    let errors = Pipe()
    process.standardInput = stdin == nil ? FileHandle.nullDevice : input
    process.standardOutput = output
    process.standardError = errors
    try process.run()
    // Input and standard error each on a thread of their own, so that a tool filling one pipe never waits on
    // another.
    let written = DispatchGroup()
    if let stdin {
        written.enter()
        Thread.detachNewThread {
            input.fileHandleForWriting.write(Data(stdin))
            try? input.fileHandleForWriting.close()
            written.leave()
        }
    }
    let errorText = ErrorCollector()
    errorText.done.enter()
    Thread.detachNewThread {
        errorText.bytes = Array(errors.fileHandleForReading.readDataToEndOfFile())
        errorText.done.leave()
    }
    let printed = Array(output.fileHandleForReading.readDataToEndOfFile())
    process.waitUntilExit()
    written.wait()
    errorText.done.wait()
    return ToolOutput(status: process.terminationStatus, stdout: printed, stderr: errorText.bytes)
}

/// Standard error read on its own thread; `done` orders the write before the read.
private final class ErrorCollector: @unchecked Sendable {
    var bytes: [UInt8] = []
    let done = DispatchGroup()
}
