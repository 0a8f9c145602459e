import ArchiverServer
import Coordination
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Testing

/// Random request bodies and headers: every answer is a deliberate 2xx/4xx, never a 500 or a crash, and
/// the store only ever holds what was answered 201.
@Suite struct RobustnessTests {
    @Test func fuzzedBodiesAndHeadersNeverCrashTheServer() async throws {
        let fragments = [
            "{", "}", "[", "]", ",", ":", #""type""#, #""data""#, #""metadata""#, #""id""#, #""A""#, "1", "-0.5e3",
            "null", "true", #""\u0000""#, #""\ud800""#, "\u{FF}", " ", "\n", #"{"type":"A","data":1}"#,
            #"{"k":[{"x":{}}]}"#, String(repeating: "[", count: 600), "\"", "\\",
        ]
        let versions = ["any", "no-stream", "exists", "0", "1", "-1", "9999999999999999999999", "", "x", "2 "]
        try await withAPI(configure: { $0.maxBodyBytes = 64 << 10 }) { api, client in
            var rng = SplitMix(seed: 0x5EED)
            var created = 0
            for _ in 0..<400 {
                let body = (0..<Int(rng.next() % 12)).map { _ in fragments[Int(rng.next() % UInt64(fragments.count))] }
                    .joined()
                // Mostly JSON, as clients send it; now and then a type a browser form would send (415).
                let contentType = rng.next() % 9 == 0 ? "text/plain" : "application/json"
                var headers: HTTPFields = [.contentType: contentType]
                if rng.next() % 2 == 0 {
                    headers[.expectedVersion] = versions[Int(rng.next() % UInt64(versions.count))]
                }
                if rng.next() % 3 == 0 { headers[.idempotencyKey] = String(rng.next() % 5) }
                if rng.next() % 5 == 0 { headers[.authorization] = "Bearer \(rng.next())" }
                let stream = rng.next() % 7 == 0 ? "s%00x" : "s\(rng.next() % 3)"
                let response = try await client.execute(
                    uri: "/streams/\(stream)/events", method: .post, headers: headers,
                    body: ByteBuffer(string: body))
                let expected: Set<Int> = contentType == "text/plain" ? [415] : [201, 409, 413, 422]
                #expect(
                    expected.contains(response.status.code),
                    "body \(body.debugDescription) → \(response.status.code) \(response.text)")
                if response.status == .created && response.headers[.idempotentReplayed] == nil {
                    created += (response.object["ids"] as? [Any])?.count ?? 0
                }
            }
            let status = try await api.store.status()
            #expect(status.eventCount == Int64(created))
            #expect(try await client.get("/health").status == .ok)
        }
    }
}

struct SplitMix {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
