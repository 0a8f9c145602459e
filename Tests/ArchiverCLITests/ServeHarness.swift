import Foundation
import Testing

#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// A real `archiver serve` child process on a free loopback port (`--port 0`; the bound address is read from
/// its stdout).
final class ServeProcess: @unchecked Sendable {
    let process = Process()
    let directory: String
    let outFile: String
    let errFile: String
    private(set) var baseURL = ""

    /// Starts `archiver serve --port 0 args…` in `directory` and waits until it listens (60 s at most).
    init(_ args: [String], in directory: String, environment: [String: String] = [:]) async throws {
        self.directory = directory
        outFile = directory + "/.serve-out-\(UUID().uuidString)"
        errFile = directory + "/.serve-err-\(UUID().uuidString)"
        _ = FileManager.default.createFile(atPath: outFile, contents: nil)
        _ = FileManager.default.createFile(atPath: errFile, contents: nil)
        process.executableURL = URL(fileURLWithPath: CLI.binary)
        process.arguments = ["serve", "--port", "0"] + args
        process.currentDirectoryURL = URL(fileURLWithPath: directory)
        var env = ProcessInfo.processInfo.environment
        env.removeValue(forKey: "ARCHIVER_STORE")
        env.removeValue(forKey: "ARCHIVER_ARCHIVE")
        for (k, v) in environment { env[k] = v }
        process.environment = env
        process.standardOutput = try FileHandle(forWritingTo: URL(fileURLWithPath: outFile))
        process.standardError = try FileHandle(forWritingTo: URL(fileURLWithPath: errFile))
        process.standardInput = FileHandle.nullDevice
        try process.run()
        for _ in 0..<600 {
            if let line = stdout.split(separator: "\n").first(where: { $0.hasPrefix("listening on ") }) {
                baseURL = String(line.dropFirst("listening on ".count))
                return
            }
            guard process.isRunning else { break }
            try await Task.sleep(for: .milliseconds(100))
        }
        if process.isRunning { process.terminate() }
        throw ServeError(message: "archiver serve did not start: \(stderr)")
    }

    var stdout: String { (try? String(contentsOfFile: outFile, encoding: .utf8)) ?? "" }
    var stderr: String { (try? String(contentsOfFile: errFile, encoding: .utf8)) ?? "" }
    var pid: Int32 { process.processIdentifier }

    func signal(_ signal: Int32) { kill(process.processIdentifier, signal) }

    /// Waits for the process to exit (bounded only to avoid hanging a broken test); nil if it did not.
    func waitForExit(timeoutSeconds: Double = 60) async throws -> (status: Int32, signaled: Bool)? {
        let deadline = ContinuousClock.now + .milliseconds(Int64(timeoutSeconds * 1_000))
        while process.isRunning && ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(50)) }
        guard !process.isRunning else { return nil }
        return (process.terminationStatus, process.terminationReason == .uncaughtSignal)
    }

    /// Stops the process if a test failed before it did.
    func cleanUp() {
        if process.isRunning {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }
        try? FileManager.default.removeItem(atPath: outFile)
        try? FileManager.default.removeItem(atPath: errFile)
    }

    /// One HTTP request to the server.
    func request(
        _ method: String, _ path: String, body: String? = nil, headers: [String: String] = [:]
    ) async throws -> HTTPReply {
        try await HTTPReply.send(method, baseURL + path, body: body, headers: headers)
    }

    /// Polls `GET /ready` until `condition` holds for its JSON (bounded; returns false if it never did).
    func waitUntilReady(_ condition: ([String: Any]) -> Bool, seconds: Double = 90) async throws -> Bool {
        let deadline = ContinuousClock.now + .milliseconds(Int64(seconds * 1_000))
        while ContinuousClock.now < deadline {
            if let reply = try? await request("GET", "/ready"), condition(reply.object) { return true }
            try await Task.sleep(for: .milliseconds(200))
        }
        return false
    }
}

struct ServeError: Error, CustomStringConvertible {
    var message: String
    var description: String { message }
}

struct HTTPReply: Sendable {
    var status: Int
    var headers: [String: String]
    var body: String

    var object: [String: Any] {
        (try? JSONSerialization.jsonObject(with: Data(body.utf8))) as? [String: Any] ?? [:]
    }

    static let session: URLSession = {
        let configuration = URLSessionConfiguration.ephemeral
        configuration.timeoutIntervalForRequest = 120
        configuration.httpMaximumConnectionsPerHost = 64
        return URLSession(configuration: configuration)
    }()

    static func send(
        _ method: String, _ url: String, body: String? = nil, headers: [String: String] = [:]
    ) async throws -> HTTPReply {
        var request = URLRequest(url: URL(string: url)!)
        request.httpMethod = method
        if let body {
            request.httpBody = Data(body.utf8)
            request.setValue("application/json", forHTTPHeaderField: "Content-Type")
        }
        for (name, value) in headers { request.setValue(value, forHTTPHeaderField: name) }
        let (data, response) = try await session.data(for: request)
        let http = response as! HTTPURLResponse
        var fields: [String: String] = [:]
        for (name, value) in http.allHeaderFields {
            if let name = name as? String, let value = value as? String { fields[name.lowercased()] = value }
        }
        return HTTPReply(status: http.statusCode, headers: fields, body: String(decoding: data, as: UTF8.self))
    }
}
