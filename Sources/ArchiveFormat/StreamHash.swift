import RawJSON
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// The stable 64-bit hash of a stream name that sharded replay and the per-file stream filters use:
/// FNV-1a 64 over the name's UTF-8 bytes (offset basis `0xcbf29ce484222325`, prime `0x100000001b3`).
///
/// It is part of the archive format: `replay --shard I/N` takes the streams with `hash % N == I`, and the
/// Bloom filters in manifests (`archiver.stream_filters`) derive their bit positions from it, so it must
/// never change.
///
/// ```swift
/// StreamHash.fnv1a64("account-42") % 8  // the shard of account-42 among 8
/// ```
public enum StreamHash {
    public static func fnv1a64(_ stream: String) -> UInt64 {
        var stream = stream
        return stream.withUTF8 { fnv1a64(bytes: UnsafeRawBufferPointer($0)) }
    }

    /// The hash of a stream name given as its UTF-8 bytes.
    public static func fnv1a64(bytes: UnsafeRawBufferPointer) -> UInt64 {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in bytes {
            hash ^= UInt64(byte)
            hash &*= 0x100_0000_01b3
        }
        return hash
    }

    /// The hash of the stream name a JSON string (quotes included, as a record holds it) spells.
    public static func fnv1a64(jsonString: UnsafeRawBufferPointer) -> UInt64 {
        let inner = UnsafeRawBufferPointer(rebasing: jsonString.dropFirst().dropLast())
        if memchr(inner.baseAddress!, 0x5C, inner.count) == nil { return fnv1a64(bytes: inner) }
        return fnv1a64((try? RawJSON.decodeString(jsonString)) ?? String(decoding: inner, as: UTF8.self))
    }

    /// MurmurHash3's 64-bit finalizer (`fmix64`). FNV-1a's low bits barely change when only the last byte
    /// changes (`account-41` vs `account-42`), so the Bloom filters mix the hash before taking bit positions.
    public static func fmix64(_ value: UInt64) -> UInt64 {
        var k = value
        k ^= k >> 33
        k &*= 0xff51_afd7_ed55_8ccd
        k ^= k >> 33
        k &*= 0xc4ce_b9fe_1a85_ec53
        k ^= k >> 33
        return k
    }
}
