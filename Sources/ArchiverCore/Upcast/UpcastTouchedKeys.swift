import Foundation
import RawJSON

/// The top-level `data` keys a rule set's pointers start with, or every key when a step works on the whole
/// object (wrap, unwrap, split): the members ``PartialData`` parses.
struct UpcastTouchedKeys: Sendable {
    /// Nil when every member is read.
    let keys: Set<String>?
    /// The keys JSON-quoted, to compare with a member's literal bytes.
    private let quoted: [[UInt8]]

    init(_ rules: [UpcastRule]) {
        var keys: Set<String>? = []
        for step in rules.flatMap(\.steps) {
            switch step {
            case .move(let from, let to): keys?.formUnion([from.tokens[0], to.tokens[0]])
            case .defaultValue(let at, _), .remove(let at), .toString(let at), .toNumber(let at):
                keys?.insert(at.tokens[0])
            case .wrap, .unwrap, .split: keys = nil
            case .renameType, .setVersion, .drop: break
            }
            if keys == nil { break }
        }
        self.keys = keys
        self.quoted = (keys ?? []).map { key in
            var bytes: [UInt8] = []
            RawJSON.appendQuoted(key, to: &bytes)
            return bytes
        }
    }

    /// The key of a member whose key literal (quotes included) is `literal`, when it is one of `keys`.
    func name(quoted literal: UnsafeRawBufferPointer, escaped: Bool) -> String? {
        guard let keys else { return (try? RawJSON.decodeString(literal)) ?? "" }
        if escaped {
            let text = (try? RawJSON.decodeString(literal)) ?? ""
            return keys.contains(text) ? text : nil
        }
        for candidate in quoted where candidate.count == literal.count {
            if candidate.withUnsafeBytes({ memcmp($0.baseAddress!, literal.baseAddress!, literal.count) == 0 }) {
                return String(decoding: literal[1..<(literal.count - 1)], as: UTF8.self)
            }
        }
        return nil
    }
}
