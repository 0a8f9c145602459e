import Foundation
import Hummingbird

/// An `application/x-www-form-urlencoded` body, as HTML forms send it.
struct FormBody: Sendable {
    var fields: [String: String]

    subscript(_ name: String) -> String? { fields[name] }

    /// Reads at most `limit` bytes (the console's forms are a few fields).
    static func read(_ request: Request, limit: Int = 16 * 1024) async throws -> FormBody {
        let buffer = try await request.body.collect(upTo: limit)
        return FormBody(parsing: String(buffer: buffer))
    }

    init(parsing text: String) {
        var fields: [String: String] = [:]
        for pair in text.split(separator: "&") {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            guard let name = Self.decode(parts[0]) else { continue }
            fields[name] = parts.count > 1 ? Self.decode(parts[1]) ?? "" : ""
        }
        self.fields = fields
    }

    static func decode(_ text: Substring) -> String? {
        text.replacingOccurrences(of: "+", with: " ").removingPercentEncoding
    }
}
