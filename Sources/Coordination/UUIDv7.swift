import Foundation
import Synchronization

/// Time-ordered event ids: RFC 9562 version 7 UUIDs in lowercase text.
///
/// Layout (RFC 9562 §5.7): 48-bit Unix time in milliseconds, version `0111`, 12-bit `rand_a`, variant `10`,
/// 62 random bits (`rand_b`) from the system's CSPRNG (`getrandom`). Ids that share a leading timestamp share
/// their first bytes, so archives compress them and the stores' id indexes insert near the end instead of at
/// random pages.
///
/// Within one process the ids strictly increase: `rand_a` is a counter (RFC 9562 §6.2, method 1), seeded at
/// random below 0x800 each new millisecond and incremented for each further id in the same millisecond. When it
/// overflows, or the wall clock steps back, the timestamp is carried forward from the last id instead.
///
/// `rand_b` is drawn once per millisecond and shared by the ids of that millisecond: the counter keeps them
/// apart, and the 62 bits keep them apart from other processes' ids of the same millisecond. A batch of events
/// appended together therefore costs the archive its random bits once, not once per event (about 8 of the
/// 16 bytes an id stores). The price: an id's successor within the same millisecond is guessable (RFC 9562
/// §6.9 asks unguessability of ids used as security capabilities, which event ids are not).
///
/// ```swift
/// let id = UUIDv7.next()  // "019af3c2-7a1e-7b3c-9d2e-4f0a1b2c3d4e"
/// ```
public enum UUIDv7 {
    /// The timestamp and counter of the last id made by this process.
    struct Clock: Sendable, Equatable {
        var millis: UInt64
        var counter: UInt16
        /// The random bits of this millisecond's ids (the low 62 are used).
        var random: UInt64 = 0

        /// The clock of the next id at wall-clock time `now`, given that this clock made the last one; a new
        /// millisecond starts its counter at `seed` (below 0x800) and takes `random` as its random bits.
        func advanced(now: UInt64, seed: UInt16, random: UInt64) -> Clock {
            if now > millis { return Clock(millis: now, counter: seed, random: random) }
            if counter < 0xFFF { return Clock(millis: millis, counter: counter + 1, random: self.random) }
            return Clock(millis: millis + 1, counter: seed, random: random)
        }
    }

    private static let last = Mutex(Clock(millis: 0, counter: 0))

    /// A new id, later in order than every id this process made before.
    public static func next() -> String {
        var generator = SystemRandomNumberGenerator()
        let seed = UInt16(truncatingIfNeeded: (generator.next() as UInt64) >> 53)  // 11 bits: room to count
        let random = generator.next() as UInt64
        let now = UInt64(max(0, Date().timeIntervalSince1970 * 1000))
        let clock = last.withLock { last in
            last = last.advanced(now: now, seed: seed, random: random)
            return last
        }
        return text(clock: clock)
    }

    /// The id with `clock`'s timestamp, counter and the low 62 of its random bits.
    static func text(clock: Clock) -> String {
        let high = (clock.millis & 0xFFFF_FFFF_FFFF) << 16 | 0x7000 | UInt64(clock.counter & 0xFFF)
        let low = (clock.random & 0x3FFF_FFFF_FFFF_FFFF) | (0x2 << 62)  // variant 10
        var bytes = (high.bigEndian, low.bigEndian)
        return withUnsafeBytes(of: &bytes) { uuid in
            String(unsafeUninitializedCapacity: 36) { text in
                AppendValidation.writeUUIDText(uuid, to: UnsafeMutableRawBufferPointer(text))
                return 36
            }
        }
    }
}
