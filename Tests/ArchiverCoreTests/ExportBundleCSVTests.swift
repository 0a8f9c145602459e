import Foundation
import TestSupport
import Testing

@testable import ArchiverCore

/// The bundle's CSV writer and reader against Python's csv module (the reference), on generated hostile
/// fields: quotes, commas, CR, LF, CRLF, unicode, empty fields, truncation.
@Suite struct ExportBundleCSVTests {
    static func python(_ script: String, input: [UInt8]) async throws -> [UInt8] {
        try await runPython(["-c", script], stdin: input)
    }

    static func randomField(_ state: inout UInt64) -> [UInt8] {
        let alphabet: [[UInt8]] = [
            Array("a".utf8), Array("Z".utf8), Array(",".utf8), Array("\"".utf8), Array("\n".utf8),
            Array("\r\n".utf8), Array(" ".utf8), Array("é".utf8), Array("😀".utf8), Array("{\"k\":1}".utf8),
        ]
        state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
        let length = Int(state >> 59)
        var field: [UInt8] = []
        for _ in 0..<length {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            field += alphabet[Int(state >> 33) % alphabet.count]
        }
        return field
    }

    @Test func writerAndReaderAgreeWithPythonsCSV() async throws {
        var state: UInt64 = 99
        var rows: [[[UInt8]]] = []
        var ours: [UInt8] = []
        for _ in 0..<300 {
            let row = (0..<3).map { _ in Self.randomField(&state) }
            // A row of one empty field is a blank line in CSV: not representable, skip it.
            if row.allSatisfy(\.isEmpty) { continue }
            rows.append(row)
            for (i, field) in row.enumerated() {
                if i > 0 { ours.append(0x2C) }
                field.withUnsafeBytes { ExportBundle.csvField($0, into: &ours) }
            }
            ours.append(0x0A)
        }
        // Python reads what we wrote: same rows.
        let readByPython = try await Self.python(
            """
            import csv, io, json, sys
            rows = list(csv.reader(io.TextIOWrapper(sys.stdin.buffer, encoding="utf-8", newline="")))
            sys.stdout.write(json.dumps(rows))
            """, input: ours)
        let decoded = try JSONSerialization.jsonObject(with: Data(readByPython)) as! [[String]]
        #expect(decoded.map { $0.map { Array($0.utf8) } } == rows)
        // We read what Python wrote (it quotes differently: QUOTE_ALL on every other row).
        let json = try JSONSerialization.data(
            withJSONObject: rows.map { $0.map { String(decoding: $0, as: UTF8.self) } })
        let writtenByPython = try await Self.python(
            """
            import csv, json, sys
            rows = json.load(sys.stdin)
            out = open(1, "w", encoding="utf-8", newline="")
            for i, r in enumerate(rows):
                csv.writer(out, quoting=csv.QUOTE_ALL if i % 2 else csv.QUOTE_MINIMAL, lineterminator="\\r\\n" if i % 3 else "\\n").writerow(r)
            out.flush()
            """, input: Array(json))
        #expect(try ExportBundle.parseCSV(writtenByPython) == rows)
        #expect(try ExportBundle.parseCSV(ours) == rows)
    }

    @Test func malformedCSVIsAnErrorNotACrash() {
        for text in ["\"unterminated", "a,\"b\"c\n", "\"x\"\"", "\"a\"b"] {
            #expect(throws: ArchiverError.self) { try ExportBundle.parseCSV(Array(text.utf8)) }
        }
        // Truncations of a valid document never crash.
        let valid = Array("a,\"b,\"\"c\"\"\n\",d\n1,2,3\n".utf8)
        for end in 0...valid.count { _ = try? ExportBundle.parseCSV(Array(valid[..<end])) }
    }
}
