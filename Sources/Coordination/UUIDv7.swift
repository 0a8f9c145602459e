import Foundation
import Synchronization

/// Time-ordered event ids: RFC 9562 version 7 UUIDs in lowercase text.
///
/// Layout (RFC 9562 §5.7): 48-bit Unix time in milliseconds, version `0111`, 12-bit `rand_a`, variant `10`,
/// 62 random bits from the system's CSPRNG (`getrandom`). Ids that share a leading timestamp share their first
/// bytes, so archives compress them and the stores' id indexes insert near the end instead of at random pages.
///
/// Within one process the ids strictly increase: `rand_a` is a counter (RFC 9562 §6.2, method 1), seeded at
/// random below 0x800 each new millisecond and incremented for each further id in the same millisecond. When it
/// overflows, or the wall clock steps back, the timestamp is carried forward from the last id instead.
///
/// ```swift
/// let id = UUIDv7.next()  // "019af3c2-7a1e-7b3c-9d2e-4f0a1b2c3d4e"
/// ```
public enum UUIDv7 {
    /// The timestamp and counter of the last id made by this process.
    struct Clock: Sendable, Equatable {
        var millis: UInt64
        var counter: UInt16

        /// The timestamp and counter for the next id at wall-clock time `now`, given that this clock made the
        /// last one; `seed` (below 0x800) starts the counter of a new millisecond.
        func advanced(now: UInt64, seed: UInt16) -> Clock {
            if now > millis { return Clock(millis: now, counter: seed) }
            if counter < 0xFFF { return Clock(millis: millis, counter: counter + 1) }
            return Clock(millis: millis + 1, counter: seed)
        }
    }

    private static let last = Mutex(Clock(millis: 0, counter: 0))

    /// A new id, later in order than every id this process made before.
    public static func next() -> String {
        var generator = SystemRandomNumberGenerator()
        let random = generator.next() as UInt64
        let now = UInt64(max(0, Date().timeIntervalSince1970 * 1000))
        let seed = UInt16(truncatingIfNeeded: random >> 53)  // 11 bits: room to count before overflow
        let clock = last.withLock { last in
            last = last.advanced(now: now, seed: seed)
            return last
        }
        return text(clock: clock, random: generator.next())
    }

    /// The id with `clock`'s timestamp and counter and the low 62 bits of `random`.
    static func text(clock: Clock, random: UInt64) -> String {
        let high = (clock.millis & 0xFFFF_FFFF_FFFF) << 16 | 0x7000 | UInt64(clock.counter & 0xFFF)
        let low = (random & 0x3FFF_FFFF_FFFF_FFFF) | (0x2 << 62)  // variant 10
        var bytes = (high.bigEndian, low.bigEndian)
        return withUnsafeBytes(of: &bytes) { uuid in
            String(unsafeUninitializedCapacity: 36) { text in
                AppendValidation.writeUUIDText(uuid, to: UnsafeMutableRawBufferPointer(text))
                return 36
            }
        }
    }
}
