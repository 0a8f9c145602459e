import Foundation
import Hummingbird

/// Responses of the cold endpoints (cuts, flushes, probes, errors), encoded from `Encodable` types. The hot
/// paths (append results and read pages) write their bytes by hand instead: `JSONEncoder` costs about ten
/// times as much per event.
enum JSONResponse {
    /// `value` as a JSON body with a closing newline.
    static func make(
        _ status: HTTPResponse.Status, _ value: some Encodable, headers: HTTPFields = [:]
    ) throws -> Response {
        let encoder = JSONEncoder()
        // Sorted: Foundation on Linux writes keys in hash order, which differs from run to run.
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        var bytes = try encoder.encode(value)
        bytes.append(UInt8(ascii: "\n"))
        return Response(
            status: status, headers: jsonHeaders(headers), body: ResponseBody(byteBuffer: ByteBuffer(bytes: bytes)))
    }

    /// Hand-written JSON bytes as a body.
    static func raw(_ status: HTTPResponse.Status, _ bytes: [UInt8], headers: HTTPFields = [:]) -> Response {
        Response(
            status: status, headers: jsonHeaders(headers), body: ResponseBody(byteBuffer: ByteBuffer(bytes: bytes)))
    }

    private static func jsonHeaders(_ headers: HTTPFields) -> HTTPFields {
        var headers = headers
        headers[.contentType] = "application/json"
        return headers
    }
}
