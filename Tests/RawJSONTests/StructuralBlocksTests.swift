import Foundation
import Testing

@testable import RawJSON

/// Both structural scanners (64-byte blocks, and eight bytes at a time) against the byte-by-byte definition,
/// on the cases where blocks make a difference: escapes, quotes and brackets at every offset around block
/// boundaries, an escape in a block's last byte, strings spanning blocks, and junk.
@Suite struct StructuralBlocksTests {
    static func check(_ bytes: [UInt8], from start: Int = 0, _ comment: @autoclosure () -> String = "") {
        bytes.withUnsafeBytes { raw in
            let reference = referenceStructuralEnd(raw, from: start)
            if raw[start] == UInt8(ascii: "{") || raw[start] == UInt8(ascii: "[") {
                #expect(RawJSON.structuralEndByBlocks(of: raw, from: start) == reference, "\(comment())")
            }
            #expect(RawJSON.structuralEndByWords(of: raw, from: start) == reference, "\(comment())")
            #expect(RawJSON.structuralEnd(of: raw, from: start) == reference, "\(comment())")
        }
    }

    @Test func piecesAtEveryOffsetAroundBlockBoundaries() {
        let pieces = [
            #"\""#, #"\\"#, #"\\\""#, "\\", "\"", "{", "}", "[", "]", #""}""#, #""\\""#, #"{"a":"}"}"#,
        ]
        for piece in pieces {
            for offset in 0..<140 {
                // A string whose content puts `piece` at `offset`, inside an object, then more members.
                let filler = String(repeating: "x", count: offset)
                let text = #"{"k":""# + filler + piece + #"","n":[1,{"m":"]"}],"z":"\\"}"# + ",\"after\":1}"
                Self.check(Array(text.utf8), "\(piece.debugDescription) at \(offset)")
                // And outside strings (not JSON: the scanners must still agree with the definition).
                let bare = "[" + filler.replacingOccurrences(of: "x", with: "1,") + piece + "]]]}}}"
                Self.check(Array(bare.utf8), "bare \(piece.debugDescription) at \(offset)")
            }
        }
    }

    @Test func randomBracketSoup() {
        var g = SystemRandomNumberGenerator()
        let alphabet = Array(#"{}[]"\\a, :"#.utf8)
        for round in 0..<20_000 {
            let count = Int.random(in: 1..<300, using: &g)
            var bytes = (0..<count).map { _ in alphabet.randomElement(using: &g)! }
            bytes[0] = round % 2 == 0 ? UInt8(ascii: "{") : UInt8(ascii: "[")
            Self.check(bytes, "\(String(decoding: bytes, as: UTF8.self).debugDescription)")
            Self.check([UInt8(ascii: " ")] + bytes, from: 1)
        }
    }

    @Test func prefixXORMarksStringInteriors() {
        var g = SystemRandomNumberGenerator()
        for _ in 0..<10_000 {
            let x = UInt64.random(in: .min ... .max, using: &g)
            var expected: UInt64 = 0
            var running: UInt64 = 0
            for bit in 0..<64 {
                running ^= (x >> UInt64(bit)) & 1
                expected |= running << UInt64(bit)
            }
            #expect(RawJSON.prefixXOR(x) == expected)
        }
    }
}
