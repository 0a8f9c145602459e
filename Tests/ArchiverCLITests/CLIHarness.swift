import Foundation
import Testing

/// Runs the built `archiver` binary as a real child process.
enum CLI {
    /// `ARCHIVER_BIN`, else `.build/debug/archiver` next to this package.
    static let binary: String = {
        if let path = ProcessInfo.processInfo.environment["ARCHIVER_BIN"], !path.isEmpty { return path }
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
        for candidate in [".build/debug/archiver", ".build/x86_64-unknown-linux-gnu/debug/archiver"] {
            let path = root.appendingPathComponent(candidate).path
            if FileManager.default.isExecutableFile(atPath: path) { return path }
        }
        return root.appendingPathComponent(".build/debug/archiver").path
    }()

    struct Result {
        var status: Int32
        /// True when the process was killed by a signal (then `status` is the signal number).
        var signaled: Bool
        var stdout: String
        var stderr: String
    }

    /// Runs `archiver args…` in `directory`, feeding `input` on stdin, and waits for it without blocking a
    /// thread of Swift's cooperative pool (tests run in parallel on it).
    @discardableResult
    static func run(
        _ args: [String], in directory: String, input: String? = nil, environment: [String: String] = [:]
    ) async throws -> Result {
        try await withCheckedThrowingContinuation { continuation in
            Thread.detachNewThread {
                continuation.resume(
                    with: Swift.Result { try runBlocking(args, in: directory, input: input, environment: environment) })
            }
        }
    }

    /// ``run(_:in:input:environment:)`` on the calling thread.
    @discardableResult
    static func runBlocking(
        _ args: [String], in directory: String, input: String? = nil, environment: [String: String] = [:]
    ) throws -> Result {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: binary)
        process.arguments = args
        process.currentDirectoryURL = URL(fileURLWithPath: directory)
        var env = ProcessInfo.processInfo.environment
        env.removeValue(forKey: "ARCHIVER_STORE")
        env.removeValue(forKey: "ARCHIVER_ARCHIVE")
        for (k, v) in environment { env[k] = v }
        process.environment = env
        let outFile = directory + "/.out-\(UUID().uuidString)"
        let errFile = directory + "/.err-\(UUID().uuidString)"
        _ = FileManager.default.createFile(atPath: outFile, contents: nil)
        _ = FileManager.default.createFile(atPath: errFile, contents: nil)
        defer {
            try? FileManager.default.removeItem(atPath: outFile)
            try? FileManager.default.removeItem(atPath: errFile)
        }
        process.standardOutput = try FileHandle(forWritingTo: URL(fileURLWithPath: outFile))
        process.standardError = try FileHandle(forWritingTo: URL(fileURLWithPath: errFile))
        let inPipe = Pipe()
        process.standardInput = input == nil ? FileHandle.nullDevice : inPipe
        try process.run()
        if let input {
            let handle = inPipe.fileHandleForWriting
            try handle.write(contentsOf: Data(input.utf8))
            try handle.close()
        }
        process.waitUntilExit()
        return Result(
            status: process.terminationStatus, signaled: process.terminationReason == .uncaughtSignal,
            stdout: (try? String(contentsOfFile: outFile, encoding: .utf8)) ?? "",
            stderr: (try? String(contentsOfFile: errFile, encoding: .utf8)) ?? "")
    }

    /// Runs and requires exit status 0, returning stdout.
    @discardableResult
    static func ok(
        _ args: [String], in directory: String, input: String? = nil, environment: [String: String] = [:],
        sourceLocation: SourceLocation = #_sourceLocation
    ) async throws -> String {
        let result = try await run(args, in: directory, input: input, environment: environment)
        #expect(
            result.status == 0 && !result.signaled,
            "archiver \(args.joined(separator: " ")) failed (\(result.status)): \(result.stderr)",
            sourceLocation: sourceLocation)
        return result.stdout
    }
}

/// A fresh temporary directory, removed after `body` (also when it throws).
func withTemporaryDirectory<T>(_ body: (String) async throws -> T) async throws -> T {
    let path = FileManager.default.temporaryDirectory.appendingPathComponent("archiver-test-\(UUID().uuidString)").path
    try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: path) }
    return try await body(path)
}

/// Bank-account events as JSONL for `archiver append` (stdin batch mode): `accounts` streams, `events` in all.
func bankEvents(events: Int, accounts: Int, seed: UInt64, firstDeposit: Int = 0) -> String {
    var state = seed | 1
    func next() -> UInt64 {
        state ^= state << 13
        state ^= state >> 7
        state ^= state << 17
        return state
    }
    var lines: [String] = []
    lines.reserveCapacity(events)
    for i in 0..<events {
        let account = Int(next() % UInt64(accounts)) + 1
        let amount = Int(next() % 10_000) + firstDeposit
        let kind = i % 7 == 0 ? "MoneyWithdrawn" : "MoneyDeposited"
        let signed = kind == "MoneyWithdrawn" ? -amount : amount
        lines.append(
            #"{"stream":"account-\#(account)","type":"\#(kind)","data":{"amount":\#(signed),"note":"n\#(i) ü \"q\""},"#
                + #""metadata":{"seq":\#(i)}}"#)
    }
    return lines.joined(separator: "\n") + "\n"
}
