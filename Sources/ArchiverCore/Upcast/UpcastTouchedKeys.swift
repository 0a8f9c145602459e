import Foundation
import RawJSON

/// The top-level `data` keys a chain's member steps start their pointers with: the members ``PartialData``
/// finds. Sorted by UTF-8 bytes, the order they are written in.
struct UpcastTouchedKeys: Sendable {
    let keys: [String]
    /// The keys JSON-quoted as appendQuoted writes them, to compare with a member's literal bytes and to write.
    let quoted: [[UInt8]]

    init(steps: [UpcastStep]) {
        var keys: Set<String> = []
        for step in steps {
            switch step {
            case .move(let from, let to): keys.formUnion([from.tokens[0], to.tokens[0]])
            case .defaultValue(let at, _), .remove(let at), .toString(let at), .toNumber(let at):
                keys.insert(at.tokens[0])
            case .wrap, .unwrap, .split, .renameType, .setVersion, .drop: break
            }
        }
        self.keys = keys.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }
        self.quoted = self.keys.map { key in
            var bytes: [UInt8] = []
            RawJSON.appendQuoted(key, to: &bytes)
            return bytes
        }
    }

    /// The index of `key` in ``keys``.
    func index(of key: String) -> Int? { keys.firstIndex(of: key) }

    /// The index of the key whose literal (quotes included) is `literal`, when it is one of ``keys``.
    func index(quoted literal: UnsafeRawBufferPointer, escaped: Bool) -> Int? {
        if escaped {
            guard let text = try? RawJSON.decodeString(literal) else { return nil }
            return keys.firstIndex(of: text)
        }
        for (index, candidate) in quoted.enumerated() where candidate.count == literal.count {
            if candidate.withUnsafeBytes({ memcmp($0.baseAddress!, literal.baseAddress!, literal.count) == 0 }) {
                return index
            }
        }
        return nil
    }
}
