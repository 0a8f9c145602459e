import Foundation
import Testing

/// The README inside an export bundle is self-contained: the signature checks it prints, run as written on a real
/// signed bundle, accept its manifests and reject an altered one.
@Suite struct BundleReadmeTests {
    static let pythonCryptography = (try? CLI.runShellBlocking("python3 -c 'import cryptography'")) == 0
    static let jqAndOpenSSL = (try? CLI.runShellBlocking("command -v jq && command -v openssl")) == 0

    /// The indented block after the line ending in `marker`, dedented.
    static func block(after marker: String, in readme: String) throws -> String {
        let lines = readme.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        let start = try #require(lines.firstIndex { $0.hasSuffix(marker) }) + 1
        var body: [String] = []
        for line in lines[start...].drop(while: { $0.isEmpty }) {
            guard line.hasPrefix("    ") else { break }
            body.append(String(line.dropFirst(4)))
        }
        return body.joined(separator: "\n") + "\n"
    }

    /// A signed archive exported as a bundle, unpacked in `dir/bundle`; returns the manifest paths.
    func signedBundle(in dir: String) async throws -> [String] {
        try await CLI.ok(["init"], in: dir)
        try await CLI.ok(["keys", "generate", "--out", "owner"], in: dir)
        try await CLI.ok(["append"], in: dir, input: bankEvents(events: 200, accounts: 4, seed: 11))
        try await CLI.ok(["flush", "--signing-key", "owner.key", "--quiet"], in: dir)
        try await CLI.ok(["export", "--stream", "account-1", "--output", "b.tar"], in: dir)
        try FileManager.default.createDirectory(atPath: dir + "/bundle", withIntermediateDirectories: true)
        #expect(try await shell("tar -xf b.tar -C bundle && cp owner.pub bundle/archive.pub", in: dir).status == 0)
        let names = try FileManager.default.contentsOfDirectory(atPath: dir + "/bundle/manifests")
        return names.filter { $0.hasSuffix(".json") }.map { "manifests/" + $0 }
    }

    /// Changes the producer in a manifest: the signed text changes, the signature does not.
    static func alter(_ path: String) throws {
        let text = try String(contentsOfFile: path, encoding: .utf8)
        let altered = text.replacingOccurrences(of: "lode-archiver ", with: "lode-archiver-forged ")
        #expect(altered != text)
        try altered.write(toFile: path, atomically: true, encoding: .utf8)
    }

    @Test(.enabled(if: pythonCryptography)) func pythonCheckFromTheReadmeVerifiesAndRejects() async throws {
        try await withTemporaryDirectory { dir in
            let manifests = try await signedBundle(in: dir)
            let manifest = try #require(manifests.first)
            let readme = try String(contentsOfFile: dir + "/bundle/README.md", encoding: .utf8)
            try Self.block(after: "where check_signature.py is:", in: readme)
                .write(toFile: dir + "/bundle/check_signature.py", atomically: true, encoding: .utf8)
            let good = try await shell("python3 check_signature.py \(manifest) archive.pub", in: dir + "/bundle")
            #expect(good.status == 0 && good.out.hasPrefix("signature OK: "), "\(good.err)")
            try Self.alter(dir + "/bundle/" + manifest)
            let bad = try await shell("python3 check_signature.py \(manifest) archive.pub", in: dir + "/bundle")
            #expect(bad.status != 0 && bad.err.contains("InvalidSignature"), "\(bad.out)\(bad.err)")
        }
    }

    @Test(.enabled(if: jqAndOpenSSL)) func opensslCheckFromTheReadmeVerifiesAndRejects() async throws {
        try await withTemporaryDirectory { dir in
            let manifests = try await signedBundle(in: dir)
            let manifest = try #require(manifests.first)
            let readme = try String(contentsOfFile: dir + "/bundle/README.md", encoding: .utf8)
            let script = try Self.block(after: "decode the signature, and verify:", in: readme)
                .replacingOccurrences(of: "manifests/<snapshot>.json", with: manifest)
            try script.write(toFile: dir + "/bundle/check.sh", atomically: true, encoding: .utf8)
            let good = try await shell("bash -e -o pipefail check.sh", in: dir + "/bundle")
            #expect(good.status == 0 && good.out.contains("Signature Verified Successfully"), "\(good.err)")
            try Self.alter(dir + "/bundle/" + manifest)
            let bad = try await shell("bash -e -o pipefail check.sh", in: dir + "/bundle")
            #expect(bad.status != 0, "an altered manifest passed: \(bad.out)")
        }
    }
}

extension CLI {
    /// Runs `sh -c command` and returns its exit status (for `.enabled(if:)` conditions).
    static func runShellBlocking(_ command: String) throws -> Int32 {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/sh")
        process.arguments = ["-c", command]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        process.waitUntilExit()
        return process.terminationStatus
    }
}
