import Basics
import Crypto
import Foundation

/// The id of the `index`-th (0-based) event a split makes of the event with id `original`.
///
/// Stable across runs and machines: the first 16 bytes of SHA-256 of
/// `"lode-archiver/upcast-split" 0x00 original 0x00 decimal(index)` (UTF-8), with the version nibble set to 8
/// and the variant bits to 10 (an RFC 9562 UUIDv8), written as lowercase 8-4-4-4-12 hex.
public enum SplitID {
    public static func derive(from original: String, index: Int) -> String {
        var input = Array("lode-archiver/upcast-split".utf8)
        input.append(0)
        input.append(contentsOf: original.utf8)
        input.append(0)
        input.append(contentsOf: String(index).utf8)
        var bytes = Array(SHA256.hash(data: input).prefix(16))
        bytes[6] = (bytes[6] & 0x0F) | 0x80
        bytes[8] = (bytes[8] & 0x3F) | 0x80
        let hex = LowercaseHex.encode(bytes)
        let cuts = [0, 8, 12, 16, 20, 32].map { hex.index(hex.startIndex, offsetBy: $0) }
        return (0..<5).map { String(hex[cuts[$0]..<cuts[$0 + 1]]) }.joined(separator: "-")
    }
}
