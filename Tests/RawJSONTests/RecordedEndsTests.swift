import RawJSON
import Testing

/// ``RawJSON/validate(_:recordingEndsIn:maxDepth:)``: the same verdict and error as ``RawJSON/validate(_:maxDepth:)``,
/// and, for valid JSON, the end of every value and key at the offset where it starts.
@Suite struct RecordedEndsTests {
    /// Strings (keys included) and containers outside strings, counted byte by byte.
    static func openings(_ bytes: [UInt8]) -> Int {
        var count = 0
        var inString = false
        var escaped = false
        for byte in bytes {
            if inString {
                if escaped {
                    escaped = false
                } else if byte == UInt8(ascii: "\\") {
                    escaped = true
                } else if byte == UInt8(ascii: "\"") {
                    inString = false
                }
            } else if byte == UInt8(ascii: "\"") {
                inString = true
                count += 1
            } else if byte == UInt8(ascii: "{") || byte == UInt8(ascii: "[") {
                count += 1
            }
        }
        return count
    }

    /// True when `range` is a whole number or literal: its bytes, then the end or a byte that ends a value.
    static func isScalar(_ bytes: UnsafeRawBufferPointer, _ range: Range<Int>) -> Bool {
        let stops: Set<UInt8> = [0x2C, 0x5D, 0x7D, 0x20, 0x0A, 0x0D, 0x09]
        guard !range.isEmpty, range.upperBound == bytes.count || stops.contains(bytes[range.upperBound]) else {
            return false
        }
        let scalarBytes = Set("-+.0123456789eEtruefalsn".utf8)
        return range.allSatisfy { scalarBytes.contains(bytes[$0]) }
    }

    @Test func recordsEveryEndAndFailsAsValidateDoes() throws {
        var g = JSONGenerator(state: 31)
        var recordedValid = 0
        for round in 0..<2_000 {
            var text = Array((round % 3 == 0 ? " " + g.value() + "\n" : g.value()).utf8)
            if round % 4 == 1, !text.isEmpty {
                text[Int(g.next() % UInt64(text.count))] = g.pick([0x22, 0x5C, 0x7D, 0x5D, 0x2C, 0xFF])
            }
            if round % 4 == 2 { text = Array(text.prefix(Int(g.next() % UInt64(text.count + 1)))) }
            var ends = [Int32](repeating: -1, count: text.count + 1)
            let plain = text.withUnsafeBytes { bytes in
                Result { () throws(RawJSONError) in try RawJSON.validate(bytes) }
            }
            let recording = text.withUnsafeBytes { bytes in
                ends.withUnsafeMutableBufferPointer { room in
                    Result { () throws(RawJSONError) in try RawJSON.validate(bytes, recordingEndsIn: room.baseAddress!)
                    }
                }
            }
            switch (plain, recording) {
            case (.success, .success):
                recordedValid += 1
                var found = 0
                text.withUnsafeBytes { bytes in
                    for (start, end) in ends.enumerated() where end >= 0 {
                        guard [0x22, 0x7B, 0x5B].contains(bytes[start]) else {
                            #expect(Self.isScalar(bytes, start..<Int(end)))
                            continue
                        }
                        found += 1
                        #expect(RawJSON.structuralEnd(of: bytes, from: start) == Int(end))
                    }
                }
                #expect(found == Self.openings(text), "\(String(decoding: text, as: UTF8.self).debugDescription)")
            case (.failure(let a), .failure(let b)):
                #expect("\(a)" == "\(b)")
            default:
                Issue.record("verdicts differ on \(String(decoding: text, as: UTF8.self).debugDescription)")
            }
        }
        #expect(recordedValid > 800)
    }
}
