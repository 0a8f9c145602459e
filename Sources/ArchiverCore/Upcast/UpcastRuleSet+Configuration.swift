import Foundation
import Yams

extension UpcastRuleSet {
    /// The `upcasters:` section of a configuration file (archiver.yaml), or nil when it has none.
    /// - Throws: ``ArchiverError`` `.invalidArgument` naming the file, line and rule of a bad section.
    public static func section(ofConfigurationFile path: String) throws -> UpcastRuleSet? {
        guard let data = FileManager.default.contents(atPath: path) else { return nil }
        let text = String(decoding: data, as: UTF8.self)
        guard let root = try? Yams.compose(yaml: text), root["upcasters"] != nil else { return nil }
        return try UpcastRuleSet(yaml: text, source: path)
    }
}
