import Basics
import Crypto
import Foundation

/// What both stores record the same way: migration checksums and times.
public enum StoreRecords {
    /// SHA-256 (hex) of a migration's SQL template (before a schema is substituted), as recorded in the
    /// migrations table: every database and schema records the same value for the same file.
    public static func migrationChecksum(_ sql: String) -> String {
        LowercaseHex.encode(SHA256.hash(data: Array(sql.utf8)))
    }

    /// The current time in microseconds since the Unix epoch (`clock_gettime(CLOCK_REALTIME)`), the unit of
    /// every stored time.
    public static func nowMicros() -> Int64 {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        return Int64(now.tv_sec) * 1_000_000 + Int64(now.tv_nsec) / 1000
    }
}
