import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// The README's tour and GETTING-STARTED's first steps are executable documentation: every code block marked
/// `<!-- tour -->` runs as written, in order, in one scratch directory, with the built `archiver` first on PATH.
/// A block fails the test when it exits non-zero, unless it is marked `<!-- tour fails -->` (then it must fail).
@Suite struct ReadmeTourTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().path

    @Test func readmeTourRunsAsWritten() async throws {
        let outputs = try await runTour(of: "README.md")
        try #require(outputs.count == 3, "the README marks 3 tour blocks (archive, sidecar, maintenance)")
        #expect(outputs[0].contains(#""state":{"amount":100,"balance":100,"owner":"Ada"}"#), "\(outputs[0])")
        #expect(outputs[0].contains("bundle OK: 2 events"), "\(outputs[0])")
        #expect(outputs[1].contains(#""stream":"order-1","first_version":1"#), "\(outputs[1])")
        #expect(outputs[1].contains(#""idempotent_replay": true"#), "\(outputs[1])")
        #expect(outputs[1].contains("final flush done"), "the sidecar archives what it took before it exits")
        #expect(outputs[2].contains("drill PASSED"), "\(outputs[2])")
        #expect(outputs[2].contains(#"{"$redacted":"subject forgotten"}"#), "\(outputs[2])")
    }

    @Test func gettingStartedRunsAsWritten() async throws {
        let outputs = try await runTour(of: "docs/GETTING-STARTED.md")
        try #require(outputs.count == 1)
        #expect(outputs[0].contains(#""state":{"amount":25,"owner":"Ada"}"#), "\(outputs[0])")
        #expect(outputs[0].contains("verify OK: 1 snapshots"), "\(outputs[0])")
    }

    /// A marked block: its shell text and whether it is meant to fail.
    struct Block {
        var script: String
        var failureExpected: Bool
        var line: Int
    }

    /// The fenced blocks right after a `<!-- tour -->` (or `<!-- tour fails -->`) line.
    static func blocks(in markdown: String) -> [Block] {
        let lines = markdown.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        var blocks: [Block] = []
        var index = 0
        while index < lines.count {
            let marker = lines[index].trimmingCharacters(in: .whitespaces)
            guard marker == "<!-- tour -->" || marker == "<!-- tour fails -->", index + 1 < lines.count,
                lines[index + 1].hasPrefix("```")
            else {
                index += 1
                continue
            }
            let start = index + 2
            var end = start
            while end < lines.count && !lines[end].hasPrefix("```") { end += 1 }
            blocks.append(
                Block(
                    script: lines[start..<end].joined(separator: "\n"), failureExpected: marker.contains("fails"),
                    line: start + 1))
            index = end + 1
        }
        return blocks
    }

    /// Runs the document's blocks in a fresh directory (with `examples/` linked in, as in the repository root);
    /// returns each block's stdout and stderr.
    func runTour(of document: String) async throws -> [String] {
        let markdown = try String(contentsOfFile: Self.root + "/" + document, encoding: .utf8)
        let blocks = Self.blocks(in: markdown)
        return try await withTemporaryDirectory { dir in
            try FileManager.default.createSymbolicLink(
                atPath: dir + "/examples", withDestinationPath: Self.root + "/examples")
            let binDirectory = URL(fileURLWithPath: CLI.binary).deletingLastPathComponent().path
            var environment = ProcessInfo.processInfo.environment
            environment["PATH"] = binDirectory + ":" + (environment["PATH"] ?? "/usr/bin:/bin")
            environment["ARCHIVER_PORT"] = String(try Self.freePort())
            for name in environment.keys where name.hasPrefix("ARCHIVER_") && name != "ARCHIVER_PORT" {
                environment.removeValue(forKey: name)
            }
            var outputs: [String] = []
            for block in blocks {
                let (status, output) = try await Self.bash(block.script, in: dir, environment: environment)
                if block.failureExpected {
                    #expect(status != 0, "\(document):\(block.line): the block should fail but exited 0\n\(output)")
                } else {
                    #expect(status == 0, "\(document):\(block.line): the block exited \(status)\n\(output)")
                    if status != 0 { break }
                }
                outputs.append(output)
            }
            return outputs
        }
    }

    /// `bash -e -o pipefail -c SCRIPT` (stdout and stderr together), off Swift's cooperative pool.
    static func bash(
        _ script: String, in directory: String, environment: [String: String]
    ) async throws -> (Int32, String) {
        try await withCheckedThrowingContinuation { continuation in
            Thread.detachNewThread {
                continuation.resume(
                    with: Result {
                        let process = Process()
                        process.executableURL = URL(fileURLWithPath: "/bin/bash")
                        process.arguments = ["-e", "-o", "pipefail", "-c", script]
                        process.currentDirectoryURL = URL(fileURLWithPath: directory)
                        process.environment = environment
                        let outFile = directory + "/.tour-\(UUID().uuidString)"
                        _ = FileManager.default.createFile(atPath: outFile, contents: nil)
                        defer { try? FileManager.default.removeItem(atPath: outFile) }
                        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: outFile))
                        process.standardOutput = handle
                        process.standardError = handle
                        process.standardInput = FileHandle.nullDevice
                        try process.run()
                        process.waitUntilExit()
                        return (
                            process.terminationStatus, (try? String(contentsOfFile: outFile, encoding: .utf8)) ?? ""
                        )
                    })
            }
        }
    }

    /// A TCP port nothing listens on now (bound to port 0, then released), for the sidecar block.
    static func freePort() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, length) == 0 && getsockname(fd, $0, &length) == 0
            }
        }
        guard bound else { throw ServeError(message: "no free port") }
        return Int(UInt16(bigEndian: address.sin_port))
    }
}
