import Foundation

/// A file of Tests/Fixtures, the fixtures several test targets share.
func sharedFixture(_ name: String) -> String {
    let path = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures/" + name).path
    guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
        preconditionFailure("the shared test fixture \(path) is missing")
    }
    return text
}
