import RawJSON

/// Writes JSON byte for byte like Go's `encoding/json` `Marshal` and `MarshalIndent(v, "", "  ")`.
///
/// What that means (Go ≥ 1.22, which Lode requires): `": "` after keys and two-space indentation when indented;
/// empty objects and arrays stay `{}` / `[]`; map keys sorted by bytes; strings escape `"` `\` and control
/// characters (`\b \f \n \r \t` short, others `\u00XX` with lowercase hex), and, HTML-safely, `<` `>` `&` as
/// `\u003c \u003e \u0026`, U+2028 / U+2029 as `\u2028` / `\u2029`. Everything else, non-ASCII and DEL included,
/// is written raw. No trailing newline.
struct GoJSONWriter {
    var bytes: [UInt8] = []
    private var depth = 0

    init(capacity: Int = 0) {
        bytes.reserveCapacity(capacity)
    }

    // MARK: Structure (MarshalIndent layout)

    mutating func beginObject() {
        bytes.append(UInt8(ascii: "{"))
        depth += 1
    }

    /// Ends an object opened with ``beginObject()``; `empty` must be true when no member was written.
    mutating func endObject(empty: Bool) {
        depth -= 1
        if !empty { newline() }
        bytes.append(UInt8(ascii: "}"))
    }

    mutating func beginArray() {
        bytes.append(UInt8(ascii: "["))
        depth += 1
    }

    mutating func endArray(empty: Bool) {
        depth -= 1
        if !empty { newline() }
        bytes.append(UInt8(ascii: "]"))
    }

    /// Starts a member: a comma when it is not the first, the newline and indentation, the key and `": "`.
    mutating func key(_ name: String, first: Bool) {
        if !first { bytes.append(UInt8(ascii: ",")) }
        newline()
        string(name)
        bytes.append(UInt8(ascii: ":"))
        bytes.append(UInt8(ascii: " "))
    }

    /// Starts an array element.
    mutating func element(first: Bool) {
        if !first { bytes.append(UInt8(ascii: ",")) }
        newline()
    }

    private mutating func newline() {
        bytes.append(UInt8(ascii: "\n"))
        for _ in 0..<depth {
            bytes.append(UInt8(ascii: " "))
            bytes.append(UInt8(ascii: " "))
        }
    }

    // MARK: Scalars

    mutating func int(_ value: Int64) {
        bytes.append(contentsOf: String(value).utf8)
    }

    mutating func raw(_ text: String) {
        bytes.append(contentsOf: text.utf8)
    }

    mutating func string(_ value: String) {
        bytes.append(UInt8(ascii: "\""))
        var value = value
        value.withUTF8 { utf8 in
            var index = 0
            var runStart = 0
            let count = utf8.count
            while index < count {
                let byte = utf8[index]
                if byte >= 0x20 && byte != 0x22 && byte != 0x5C && byte != 0x3C && byte != 0x3E && byte != 0x26
                    && byte != 0xE2
                {
                    index += 1
                    continue
                }
                if byte == 0xE2 {
                    // U+2028 and U+2029 are E2 80 A8 / E2 80 A9.
                    if index + 2 < count, utf8[index + 1] == 0x80, utf8[index + 2] == 0xA8 || utf8[index + 2] == 0xA9 {
                        bytes.append(contentsOf: UnsafeBufferPointer(rebasing: utf8[runStart..<index]))
                        bytes.append(
                            contentsOf: utf8[index + 2] == 0xA8 ? Array("\\u2028".utf8) : Array("\\u2029".utf8))
                        index += 3
                        runStart = index
                    } else {
                        index += 1
                    }
                    continue
                }
                bytes.append(contentsOf: UnsafeBufferPointer(rebasing: utf8[runStart..<index]))
                appendEscape(byte)
                index += 1
                runStart = index
            }
            bytes.append(contentsOf: UnsafeBufferPointer(rebasing: utf8[runStart..<count]))
        }
        bytes.append(UInt8(ascii: "\""))
    }

    private mutating func appendEscape(_ byte: UInt8) {
        bytes.append(UInt8(ascii: "\\"))
        switch byte {
        case 0x22, 0x5C: bytes.append(byte)
        case 0x08: bytes.append(UInt8(ascii: "b"))
        case 0x0C: bytes.append(UInt8(ascii: "f"))
        case 0x0A: bytes.append(UInt8(ascii: "n"))
        case 0x0D: bytes.append(UInt8(ascii: "r"))
        case 0x09: bytes.append(UInt8(ascii: "t"))
        default:
            let hex: [UInt8] = Array("0123456789abcdef".utf8)
            bytes.append(contentsOf: [UInt8(ascii: "u"), UInt8(ascii: "0"), UInt8(ascii: "0")])
            bytes.append(hex[Int(byte >> 4)])
            bytes.append(hex[Int(byte & 0xF)])
        }
    }

    // MARK: Values

    /// Writes any value; `indented` selects MarshalIndent layout for nested containers.
    mutating func write(_ value: JSONValue, indented: Bool = true) {
        switch value {
        case .null: raw("null")
        case .bool(let flag): raw(flag ? "true" : "false")
        case .number(let text): raw(text)
        case .string(let text): string(text)
        case .array(let elements):
            if indented {
                beginArray()
                for (index, element) in elements.enumerated() {
                    self.element(first: index == 0)
                    write(element, indented: true)
                }
                endArray(empty: elements.isEmpty)
            } else {
                bytes.append(UInt8(ascii: "["))
                for (index, element) in elements.enumerated() {
                    if index > 0 { bytes.append(UInt8(ascii: ",")) }
                    write(element, indented: false)
                }
                bytes.append(UInt8(ascii: "]"))
            }
        case .object(let members):
            writeObject(members, indented: indented)
        }
    }

    mutating func writeObject(_ members: [String: JSONValue], indented: Bool = true) {
        let keys = members.keys.sorted(by: ObjectKey.byteOrder)
        if indented {
            beginObject()
            for (index, key) in keys.enumerated() {
                self.key(key, first: index == 0)
                write(members[key]!, indented: true)
            }
            endObject(empty: keys.isEmpty)
        } else {
            bytes.append(UInt8(ascii: "{"))
            for (index, key) in keys.enumerated() {
                if index > 0 { bytes.append(UInt8(ascii: ",")) }
                string(key)
                bytes.append(UInt8(ascii: ":"))
                write(members[key]!, indented: false)
            }
            bytes.append(UInt8(ascii: "}"))
        }
    }
}
