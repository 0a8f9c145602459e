import Foundation
import RawJSON
import Testing

/// A seeded generator of JSON texts: valid values of every kind, then hostile mutations of them.
struct JSONGenerator {
    var state: UInt64

    mutating func next() -> UInt64 {
        state ^= state << 13
        state ^= state >> 7
        state ^= state << 17
        return state
    }

    mutating func pick<T>(_ items: [T]) -> T { items[Int(next() % UInt64(items.count))] }

    mutating func string() -> String {
        let pieces = [
            "a", "Zürich", "\\\"", "\\\\", "\\/", "\\n", "\\t", "\\u00e9", "\\ud83d\\ude00", "😀", "\\u0000",
            " ", "key", "\\b\\f\\r", "€", "日本",
        ]
        var s = "\""
        for _ in 0..<Int(next() % 6) { s += pick(pieces) }
        return s + "\""
    }

    mutating func number() -> String {
        pick([
            "0", "-0", "1", "-17", "3.25", "1e10", "-2.5E-3", "123456789012345678901234567890", "0.1",
            "9007199254740993", "-9223372036854775808", "9223372036854775807", "4.9e-324",
        ])
    }

    mutating func value(depth: Int = 0) -> String {
        let choice = depth > 4 ? next() % 4 : next() % 6
        switch choice {
        case 0: return pick(["true", "false", "null"])
        case 1: return number()
        case 2, 3: return string()
        case 4:
            return "["
                + (0..<Int(next() % 4)).map { _ in value(depth: depth + 1) }.joined(
                    separator: pick([",", " , ", ",\n"])) + "]"
        default:
            var keys = Set<String>()
            var members: [String] = []
            for _ in 0..<Int(next() % 5) {
                let key = string()
                if keys.insert(key).inserted { members.append(key + pick([":", " : "]) + value(depth: depth + 1)) }
            }
            return "{" + members.joined(separator: ",") + "}"
        }
    }
}

/// Foundation's parser is the reference for what is valid JSON.
func foundationAccepts(_ bytes: [UInt8]) -> Bool {
    (try? JSONSerialization.jsonObject(with: Data(bytes), options: [.fragmentsAllowed])) != nil
}

func validates(_ bytes: [UInt8]) -> Bool {
    bytes.withUnsafeBytes { (try? RawJSON.validate($0)) != nil }
}

extension JSONValue {
    /// True if some number in the tree overflows a Double.
    var hasUnrepresentableNumber: Bool {
        switch self {
        case .number: return double?.isInfinite ?? true
        case .array(let items): return items.contains { $0.hasUnrepresentableNumber }
        case .object(let members): return members.values.contains { $0.hasUnrepresentableNumber }
        default: return false
        }
    }
}

@Suite struct RawJSONTests {
    @Test func agreesWithFoundationOnGeneratedValidInputs() throws {
        var g = JSONGenerator(state: 7)
        for _ in 0..<3_000 {
            let text = g.value()
            #expect(validates(Array(text.utf8)), "rejected valid: \(text)")
            #expect(foundationAccepts(Array(text.utf8)), "reference rejected: \(text)")
        }
    }

    /// The word-at-a-time scanner against the plain byte-by-byte definition, and against the validating
    /// parser on valid values: generated values (long strings and deep nesting so that every word alignment is
    /// crossed), each truncated at every byte and with junk bytes written into it, at several offsets.
    @Test func structuralEndAgreesWithByteByByteReference() throws {
        var g = JSONGenerator(state: 2024)
        let junk: [UInt8] = [0x22, 0x5C, 0x7B, 0x7D, 0x5B, 0x5D, 0x2C, 0x3A, 0xC3, 0xFF, 0x00, 0x20, 0x7C]
        var checked = 0
        for round in 0..<600 {
            var text = g.value()
            if round % 5 == 0 {
                let escapes = String(repeating: "ab\\\"", count: 9)
                text = "{\"k\":[" + text + ",{\"deep\":{\"x\":\"" + escapes + "\"}}]}"
            }
            let valid = Array(text.utf8)
            for prefix in ["", " ", "[1,"] {
                let framed = Array(prefix.utf8) + valid + Array(",\"next\":1}".utf8)
                framed.withUnsafeBytes { raw in
                    let ours = RawJSON.structuralEnd(of: raw, from: prefix.utf8.count)
                    #expect(ours == prefix.utf8.count + valid.count, "valid \(text.debugDescription)")
                    #expect(ours == referenceStructuralEnd(raw, from: prefix.utf8.count))
                }
            }
            var variants: [[UInt8]] = stride(from: 0, to: valid.count, by: max(1, valid.count / 40)).map {
                Array(valid[0..<$0])
            }
            for _ in 0..<6 where !valid.isEmpty {
                var m = valid
                m[Int(g.next() % UInt64(m.count))] = g.pick(junk)
                variants.append(m)
            }
            for v in variants {
                v.withUnsafeBytes { raw in
                    #expect(
                        RawJSON.structuralEnd(of: raw, from: 0) == referenceStructuralEnd(raw, from: 0),
                        "\(String(decoding: v, as: UTF8.self).debugDescription)")
                }
                checked += 1
            }
        }
        #expect(checked > 5_000)
    }

    /// Truncation at every byte, single-byte corruptions, and appended garbage: wherever Foundation and RFC 8259
    /// agree, we must agree too.
    @Test func agreesWithFoundationOnHostileMutations() throws {
        var g = JSONGenerator(state: 99)
        let junk: [UInt8] = [
            0x00, 0x22, 0x5C, 0x7B, 0x7D, 0x5B, 0x5D, 0x2C, 0x3A, 0x2E, 0x65, 0x2D, 0xC3, 0xFF, 0xED, 0x80,
        ]
        var compared = 0
        for _ in 0..<400 {
            let valid = Array(g.value().utf8)
            var variants: [[UInt8]] = (0..<valid.count).map { Array(valid[0..<$0]) }
            for _ in 0..<8 where !valid.isEmpty {
                var m = valid
                m[Int(g.next() % UInt64(m.count))] = g.pick(junk)
                variants.append(m)
            }
            variants.append(valid + Array(" x".utf8))
            for v in variants {
                let ours = validates(v)
                let reference = foundationAccepts(v)
                if ours == reference {
                    compared += 1
                    continue
                }
                // Three documented differences, where RFC 8259 is on our side: Foundation stops at a NUL byte
                // (so "0\u{0}1" passes there), accepts a trailing comma before '}', and rejects numbers that
                // do not fit in a Double ("9e999"), which RFC 8259 allows.
                if v.contains(0) && !ours { continue }
                let text = String(decoding: v, as: UTF8.self)
                if !ours && text.replacingOccurrences(of: " ", with: "").contains(",}") { continue }
                if ours, !reference,
                    (try? JSONValue.parse(String(decoding: v, as: UTF8.self)))?.hasUnrepresentableNumber == true
                {
                    continue
                }
                Issue.record("disagree on \(String(decoding: v, as: UTF8.self).debugDescription): ours \(ours)")
            }
        }
        #expect(compared > 5_000)
    }

    @Test(arguments: [
        "01", "1.", ".5", "+1", "-", "1e", "1e+", "--1", "0x10", "[1,]", "{\"a\":1,}", "{\"a\" 1}", "[1 2]", "\"\\x\"",
        "\"\\u12\"", "\"\\ud800\"", "\"\\udc00\"", "\"\\ud800\\u0041\"", "\"a\u{01}b\"", "tru", "nul", "{a:1}", "'a'",
        "[", "]", "", " ", "\u{FEFF}{}", "NaN", "Infinity",
    ])
    func rejectsWhatRFC8259Forbids(text: String) {
        #expect(!validates(Array(text.utf8)))
    }

    @Test func rejectsInvalidUTF8() {
        for bad: [UInt8] in [
            [0x22, 0xC3, 0x22], [0x22, 0xC0, 0xAF, 0x22], [0x22, 0xED, 0xA0, 0x80, 0x22],
            [0x22, 0xF4, 0x90, 0x80, 0x80, 0x22], [0x22, 0xFF, 0x22],
        ] {
            #expect(!validates(bad))
        }
        #expect(validates([0x22, 0xF0, 0x9F, 0x98, 0x80, 0x22]))
    }

    @Test func depthLimitIsAnErrorNotACrash() throws {
        let deep = String(repeating: "[", count: 100_000) + String(repeating: "]", count: 100_000)
        #expect(throws: RawJSONError.self) { try RawJSON.validate(deep) }
        #expect(throws: RawJSONError.self) { try JSONValue.parse(deep) }
        let ok = String(repeating: "[", count: 500) + String(repeating: "]", count: 500)
        try RawJSON.validate(ok)
    }

    @Test func errorsNameTheOffset() {
        do {
            try RawJSON.validate(#"{"a":1,"b":}"#)
            Issue.record("accepted invalid JSON")
        } catch {
            #expect(error.offset == 11)
            #expect(error.description.contains("byte 11"))
        }
    }

    @Test func decodedStringsMatchFoundation() throws {
        var g = JSONGenerator(state: 5)
        for _ in 0..<2_000 {
            let literal = g.string()
            let reference =
                try JSONSerialization.jsonObject(with: Data(literal.utf8), options: [.fragmentsAllowed]) as! String
            let ours = try Array(literal.utf8).withUnsafeBytes { try RawJSON.decodeString($0) }
            #expect(ours == reference, "\(literal)")
        }
    }

    @Test func quotingRoundTripsThroughFoundation() throws {
        for s in [
            "plain", "quote \" backslash \\ slash /", "tab\tnew\nline\r", "ctl \u{01}\u{1F}\u{7F}", "ünï 😀 日本", "",
        ] {
            var out: [UInt8] = []
            RawJSON.appendQuoted(s, to: &out)
            let back = try JSONSerialization.jsonObject(with: Data(out), options: [.fragmentsAllowed]) as! String
            #expect(back == s)
        }
    }

    /// The quoter skips eight bytes at a time: generated strings put every escape at every offset around the
    /// word edges, and the bytes must equal a plain byte-by-byte quoter, round-trip through Foundation, and have
    /// the length ``RawJSON/quotedCount(_:)`` predicts within the `6n + 2` bound.
    @Test func wordAtATimeQuotingMatchesBytewiseQuoting() throws {
        func reference(_ bytes: [UInt8]) -> [UInt8] {
            var out: [UInt8] = [0x22]
            for c in bytes {
                switch c {
                case 0x22: out += [0x5C, 0x22]
                case 0x5C: out += [0x5C, 0x5C]
                case 0x0A: out += Array(#"\n"#.utf8)
                case 0x0D: out += Array(#"\r"#.utf8)
                case 0x09: out += Array(#"\t"#.utf8)
                case 0x08: out += Array(#"\b"#.utf8)
                case 0x0C: out += Array(#"\f"#.utf8)
                case ..<0x20: out += Array(String(format: "\\u%04x", Int(c)).utf8)
                default: out.append(c)
                }
            }
            return out + [0x22]
        }
        // Bytes at and around every boundary the word test checks, and UTF-8 of several lengths.
        let alphabet: [[UInt8]] = [
            [0x00], [0x01], [0x08], [0x09], [0x0A], [0x0C], [0x0D], [0x1F], [0x20], [0x21], [0x22], [0x23], [0x5B],
            [0x5C], [0x5D], [0x7F], Array("a".utf8), Array("é".utf8), Array("€".utf8), Array("😀".utf8),
        ]
        var g = JSONGenerator(state: 77)
        for round in 0..<20_000 {
            var bytes: [UInt8] = []
            let length = Int(g.next() % 40)
            // Half the strings are mostly plain, so whole clean words come before and after the escapes.
            while bytes.count < length {
                bytes += round % 2 == 0 || g.next() % 8 == 0 ? alphabet[Int(g.next() % UInt64(alphabet.count))] : [0x61]
            }
            var out: [UInt8] = []
            bytes.withUnsafeBytes { RawJSON.appendQuoted($0, to: &out) }
            #expect(out == reference(bytes), "\(bytes)")
            #expect(bytes.withUnsafeBytes { RawJSON.quotedCount($0) } == out.count)
            #expect(out.count <= 6 * bytes.count + 2)
            if let text = String(validating: bytes, as: UTF8.self) {
                let back = try JSONSerialization.jsonObject(with: Data(out), options: [.fragmentsAllowed]) as! String
                #expect(back == text)
            }
        }
    }

    @Test func valueTreeRoundTripsAndMatchesFoundation() throws {
        var g = JSONGenerator(state: 11)
        for _ in 0..<1_500 {
            let text = g.value()
            let value = try JSONValue.parse(text)
            #expect(try JSONValue.parse(value.serializedString) == value)
            // Same data as Foundation's reading (compared through Foundation's own objects).
            let ours = try JSONSerialization.jsonObject(with: Data(value.serialize()), options: [.fragmentsAllowed])
            let reference = try JSONSerialization.jsonObject(with: Data(text.utf8), options: [.fragmentsAllowed])
            #expect(NSArray(array: [ours]).isEqual(NSArray(array: [reference])), "\(text)")
        }
    }

    /// Decimal literals (the fast path's domain and its edges) parse to exactly what the general parser gives.
    @Test func decimalsParseLikeTheGeneralParser() {
        var g = JSONGenerator(state: 31)
        var literals = [
            "0.1", "-0.0", "0.0", "123.45", "999999999999999.9", "0.000000000000000000001", "1.7976931348623157",
            "9007199254740993.5", "12345678901234.56", "-0.30000000000000004", "4.35", "1.005", "2.675",
        ]
        for _ in 0..<20_000 {
            let whole = g.next() % 1_000_000_000
            let fractionDigits = Int(g.next() % 12) + 1
            var fraction = String(g.next() % 1_000_000_000_000)
            fraction = String(repeating: "0", count: max(0, fractionDigits - fraction.count)) + fraction
            literals.append((g.next() % 2 == 0 ? "-" : "") + "\(whole)." + fraction.prefix(fractionDigits))
        }
        for literal in literals {
            let ours = Array(literal.utf8).withUnsafeBytes { RawJSON.parseDouble($0) }
            let reference = Double(literal)
            #expect(ours?.bitPattern == reference?.bitPattern, "\(literal): \(String(describing: ours))")
        }
    }

    @Test func numbersParse() {
        func d(_ s: String) -> Double? { Array(s.utf8).withUnsafeBytes { RawJSON.parseDouble($0) } }
        func i(_ s: String) -> Int64? { Array(s.utf8).withUnsafeBytes { RawJSON.parseInt64($0) } }
        #expect(d("3.25") == 3.25)
        #expect(d("-2.5E-3") == -0.0025)
        #expect(d("1e400") == .infinity)
        #expect(d("12") == 12)
        #expect(d("01") == nil)
        #expect(i("-9223372036854775808") == .min)
        #expect(i("9223372036854775808") == nil)
        #expect(i("1.5") == nil)
    }

    /// RFC 7386, Appendix A: every example.
    @Test(arguments: [
        (#"{"a":"b"}"#, #"{"a":"c"}"#, #"{"a":"c"}"#),
        (#"{"a":"b"}"#, #"{"b":"c"}"#, #"{"a":"b","b":"c"}"#),
        (#"{"a":"b"}"#, #"{"a":null}"#, #"{}"#),
        (#"{"a":"b","b":"c"}"#, #"{"a":null}"#, #"{"b":"c"}"#),
        (#"{"a":["b"]}"#, #"{"a":"c"}"#, #"{"a":"c"}"#),
        (#"{"a":"c"}"#, #"{"a":["b"]}"#, #"{"a":["b"]}"#),
        (#"{"a":{"b":"c"}}"#, #"{"a":{"b":"d","c":null}}"#, #"{"a":{"b":"d"}}"#),
        (#"{"a":[{"b":"c"}]}"#, #"{"a":[1]}"#, #"{"a":[1]}"#),
        (#"["a","b"]"#, #"["c","d"]"#, #"["c","d"]"#),
        (#"{"a":"b"}"#, #"["c"]"#, #"["c"]"#),
        (#"{"a":"foo"}"#, "null", "null"),
        (#"{"a":"foo"}"#, #""bar""#, #""bar""#),
        (#"{"e":null}"#, #"{"a":1}"#, #"{"a":1,"e":null}"#),
        (#"[1,2]"#, #"{"a":"b","c":null}"#, #"{"a":"b"}"#),
        (#"{}"#, #"{"a":{"bb":{"ccc":null}}}"#, #"{"a":{"bb":{}}}"#),
    ])
    func mergePatchRFC7386(target: String, patch: String, expected: String) throws {
        let result = JSONValue.mergePatch(target: try JSONValue.parse(target), patch: try JSONValue.parse(patch))
        #expect(result == (try JSONValue.parse(expected)))
    }

    @Test func objectScannerFindsMembersLikeFoundation() throws {
        var g = JSONGenerator(state: 21)
        for _ in 0..<1_000 {
            let text = g.value()
            guard text.hasPrefix("{") else { continue }
            let reference = try JSONSerialization.jsonObject(with: Data(text.utf8)) as! [String: Any]
            var keys: [String] = []
            try Array(text.utf8).withUnsafeBytes { bytes in
                var scanner = try ObjectScanner(bytes)
                while let member = try scanner.next() {
                    let key = try scanner.keyString(member)
                    keys.append(key)
                    let value = try JSONValue.parse(scanner.value(member))
                    let ours = try JSONSerialization.jsonObject(
                        with: Data(value.serialize()), options: [.fragmentsAllowed])
                    #expect(NSArray(array: [ours]).isEqual(NSArray(array: [reference[key]!])))
                }
            }
            #expect(Set(keys) == Set(reference.keys))
        }
    }

    @Test func objectScannerRejectsTruncatedLines() throws {
        let whole = Array(#"{"position":1,"data":{"a":[1,2,{"b":"c"}]},"hash":"x"}"#.utf8)
        var count = 0
        try whole.withUnsafeBytes { bytes in
            var scanner = try ObjectScanner(bytes)
            while try scanner.next() != nil { count += 1 }
        }
        #expect(count == 3)
        let line = Array(#"{"position":1,"data":{"a":[1,2,{"b":"c"}]},"hash":"x"}"#.utf8)
        for cut in 1..<line.count {
            let truncated = Array(line[0..<cut])
            let ok: Bool = truncated.withUnsafeBytes { bytes in
                do {
                    var scanner = try ObjectScanner(bytes)
                    while try scanner.next() != nil {}
                    return true
                } catch {
                    return false
                }
            }
            #expect(!ok, "accepted truncation at \(cut)")
        }
    }
}

/// The definition of `RawJSON.structuralEnd`, one byte at a time.
func referenceStructuralEnd(_ bytes: UnsafeRawBufferPointer, from start: Int) -> Int? {
    guard start < bytes.count else { return nil }
    var i = start
    let first = bytes[i]
    if first != UInt8(ascii: "{") && first != UInt8(ascii: "[") && first != UInt8(ascii: "\"") {
        while i < bytes.count {
            switch bytes[i] {
            case UInt8(ascii: ","), UInt8(ascii: "}"), UInt8(ascii: "]"), 0x20, 0x0A, 0x0D, 0x09:
                return i > start ? i : nil
            default: i += 1
            }
        }
        return i
    }
    var depth = 0
    while i < bytes.count {
        let c = bytes[i]
        if c == UInt8(ascii: "\"") {
            i += 1
            while i < bytes.count, bytes[i] != UInt8(ascii: "\"") { i += bytes[i] == UInt8(ascii: "\\") ? 2 : 1 }
            guard i < bytes.count else { return nil }
            i += 1
            if depth == 0 { return i }
            continue
        }
        if c == UInt8(ascii: "{") || c == UInt8(ascii: "[") {
            depth += 1
        } else if c == UInt8(ascii: "}") || c == UInt8(ascii: "]") {
            depth -= 1
            if depth == 0 { return i + 1 }
            if depth < 0 { return nil }
        }
        i += 1
    }
    return nil
}
