#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Decompresses a JSONL object incrementally and hands out its lines without copying them.
///
/// Go's reader rules (LODE_FORMAT.md §5.2): split on `\n`, drop one trailing `\r`, skip empty lines, accept a
/// missing final newline, and fail on a line of 10 MiB or more. Memory stays bounded by one decompressed chunk
/// plus the longest line; `plain` is reused across files.
struct JSONLineSplitter {
    /// Go's `bufio.Scanner` limit in Lode.
    static let maxLineBytes = 10 * 1024 * 1024
    /// Compressed input is fed in slices of this size so one slice never decompresses into a huge buffer.
    static let feedSliceBytes = 256 * 1024

    private var plain: [UInt8] = []
    private var decompressor: StreamDecompressor = .noop
    private var key = ""
    private var compression: StoredCompression = .noop
    private var sawInput = false

    init() {
        plain.reserveCapacity(2 * Self.feedSliceBytes)
    }

    /// Starts a new object.
    mutating func begin(compression: StoredCompression, key: String) throws {
        plain.removeAll(keepingCapacity: true)
        self.key = key
        self.compression = compression
        sawInput = false
        do {
            decompressor = try StreamDecompressor(compression)
        } catch {
            throw LodeError(.io, "cannot create a decompressor for '\(key)'", key: key, cause: "\(error)")
        }
    }

    /// Decompresses `compressed` and delivers every complete line.
    mutating func feed(
        _ compressed: UnsafeRawBufferPointer, _ body: (UnsafeRawBufferPointer) throws -> Void
    ) throws {
        if !compressed.isEmpty { sawInput = true }
        var offset = 0
        while offset < compressed.count {
            let end = min(compressed.count, offset + Self.feedSliceBytes)
            do {
                try decompressor.decompress(UnsafeRawBufferPointer(rebasing: compressed[offset..<end]), into: &plain)
            } catch {
                throw corrupt("does not decompress", cause: error)
            }
            offset = end
            try deliverCompleteLines(body)
        }
    }

    /// Checks the compressed stream ended cleanly and delivers a last line that has no final newline.
    mutating func finish(_ body: (UnsafeRawBufferPointer) throws -> Void) throws {
        do {
            // An empty zstd object holds no frame and no records (klauspost's reader and DuckDB accept it);
            // an empty gzip object is an error, as in Go.
            if sawInput || compression != .zstd { try decompressor.finish() }
        } catch {
            throw corrupt("is truncated or damaged", cause: error)
        }
        try deliverCompleteLines(body)
        if !plain.isEmpty {
            try plain.withUnsafeBytes { raw in try deliver(raw, body) }
            plain.removeAll(keepingCapacity: true)
        }
    }

    private mutating func deliverCompleteLines(_ body: (UnsafeRawBufferPointer) throws -> Void) throws {
        let consumed = try plain.withUnsafeBytes { raw -> Int in
            guard let base = raw.baseAddress else { return 0 }
            var start = 0
            while start < raw.count,
                let hit = memchr(base + start, Int32(UInt8(ascii: "\n")), raw.count - start)
            {
                let end = base.distance(to: UnsafeRawPointer(hit))
                try deliver(UnsafeRawBufferPointer(rebasing: raw[start..<end]), body)
                start = end + 1
            }
            return start
        }
        if consumed > 0 { plain.removeSubrange(0..<consumed) }
        if plain.count >= Self.maxLineBytes {
            throw LodeError(
                .corruptData,
                "object '\(key)' has a line of \(Self.maxLineBytes) bytes or more, which Go Lode cannot read",
                key: key)
        }
    }

    private func deliver(_ line: UnsafeRawBufferPointer, _ body: (UnsafeRawBufferPointer) throws -> Void) throws {
        var line = line
        if line.last == UInt8(ascii: "\r") { line = UnsafeRawBufferPointer(rebasing: line.dropLast()) }
        if line.isEmpty { return }
        if line.count >= Self.maxLineBytes {
            throw LodeError(
                .corruptData,
                "object '\(key)' has a line of \(line.count) bytes; Go Lode cannot read lines of 10 MiB or more",
                key: key)
        }
        try body(line)
    }

    private func corrupt(_ what: String, cause: any Error) -> LodeError {
        LodeError(
            .corruptData, "object '\(key)' \(what): it was damaged or truncated; restore it from a replica", key: key,
            cause: String(describing: cause))
    }
}
