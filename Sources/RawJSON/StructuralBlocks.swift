#if arch(x86_64)
import _Builtin_intrinsics.intel
#endif

/// The structural scan of objects and arrays 64 bytes at a time (simdjson's first stage, reduced to what
/// ``RawJSON/structuralEnd(of:from:)`` needs): one SSE2 compare per byte class and 16 bytes gives bit masks of
/// quotes, backslashes, openers and closers; a prefix XOR of the quotes marks the bytes inside strings; the
/// openers and closers outside strings are then walked bit by bit. The cost per block is the same whatever the
/// density of quotes, where the word-at-a-time loop stops at every quote.
///
/// A block holding a backslash (rare in events: only escaped characters in strings) is walked one byte at a
/// time, so escapes are honoured exactly as the byte-by-byte definition does, inside and outside strings.
extension RawJSON {
    /// Bit masks of one 64-byte block, bit `k` for byte `k`.
    struct BlockMasks {
        var quote: UInt64 = 0
        var backslash: UInt64 = 0
        var open: UInt64 = 0
        var close: UInt64 = 0
    }

    #if arch(x86_64)
    /// True where the vector scan is available (SSE2 is part of every x86-64 CPU).
    static let hasBlockScan = true

    @inline(__always)
    static func blockMasks(_ p: UnsafeRawPointer) -> BlockMasks {
        let quote = _mm_set1_epi8(0x22)
        let backslash = _mm_set1_epi8(0x5C)
        // `b | 0x20` folds `[` and `]` onto `{` and `}` (and nothing else onto them).
        let fold = _mm_set1_epi8(0x20)
        let open = _mm_set1_epi8(0x7B)
        let close = _mm_set1_epi8(0x7D)
        var masks = BlockMasks()
        for k in 0..<4 {
            let v = _mm_loadu_si128((p + 16 * k).assumingMemoryBound(to: __m128i.self))
            let folded = _mm_or_si128(v, fold)
            let shift = UInt64(16 * k)
            masks.quote |= bits(_mm_cmpeq_epi8(v, quote)) << shift
            masks.backslash |= bits(_mm_cmpeq_epi8(v, backslash)) << shift
            masks.open |= bits(_mm_cmpeq_epi8(folded, open)) << shift
            masks.close |= bits(_mm_cmpeq_epi8(folded, close)) << shift
        }
        return masks
    }

    @inline(__always)
    private static func bits(_ v: __m128i) -> UInt64 {
        UInt64(UInt32(bitPattern: _mm_movemask_epi8(v)))
    }
    #else
    static let hasBlockScan = false

    static func blockMasks(_ p: UnsafeRawPointer) -> BlockMasks {
        var masks = BlockMasks()
        for k in 0..<64 {
            let b = p.load(fromByteOffset: k, as: UInt8.self)
            let bit: UInt64 = 1 << UInt64(k)
            if b == 0x22 { masks.quote |= bit }
            if b == 0x5C { masks.backslash |= bit }
            if b | 0x20 == 0x7B { masks.open |= bit }
            if b | 0x20 == 0x7D { masks.close |= bit }
        }
        return masks
    }
    #endif

    /// Bit `k` of the result is the XOR of bits `0...k` of `x`: with `x` the quotes of a block, the bytes from
    /// an opening quote up to (not including) its closing quote.
    @inline(__always)
    static func prefixXOR(_ x: UInt64) -> UInt64 {
        var x = x
        x ^= x << 1
        x ^= x << 2
        x ^= x << 4
        x ^= x << 8
        x ^= x << 16
        x ^= x << 32
        return x
    }

    /// ``structuralEnd(of:from:)`` for a value starting with `{` or `[` at `start`, by 64-byte blocks.
    static func structuralEndByBlocks(of bytes: UnsafeRawBufferPointer, from start: Int) -> Int? {
        guard let base = bytes.baseAddress else { return nil }
        let count = bytes.count
        var depth = 0
        var inString = false
        // A backslash in a string escaped the first byte of the next block.
        var skipFirst = false
        var tail: (UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0, 0, 0, 0, 0)
        var i = start
        while i < count {
            let available = count - i
            let masks: BlockMasks
            if available >= 64 {
                masks = blockMasks(base + i)
            } else {
                // The last bytes, copied into a zeroed block (a zero byte matches none of the classes).
                tail = (0, 0, 0, 0, 0, 0, 0, 0)
                masks = withUnsafeMutableBytes(of: &tail) { block in
                    block.copyMemory(from: UnsafeRawBufferPointer(start: base + i, count: available))
                    return blockMasks(UnsafeRawPointer(block.baseAddress!))
                }
            }
            if masks.backslash != 0 || skipFirst {
                let end = i + min(64, available)
                var j = i
                if skipFirst {
                    j += 1
                    skipFirst = false
                }
                while j < end {
                    let c = bytes[j]
                    if inString {
                        if c == UInt8(ascii: "\\") {
                            j += 2
                            continue
                        }
                        if c == UInt8(ascii: "\"") { inString = false }
                    } else if c == UInt8(ascii: "\"") {
                        inString = true
                    } else if c | 0x20 == UInt8(ascii: "{") {
                        depth += 1
                    } else if c | 0x20 == UInt8(ascii: "}") {
                        depth -= 1
                        if depth == 0 { return j + 1 }
                        if depth < 0 { return nil }
                    }
                    j += 1
                }
                // An escape of the block's last byte skips the next block's first.
                if j > end { skipFirst = true }
                i += 64
                continue
            }
            let strings = prefixXOR(masks.quote) ^ (inString ? ~0 : 0)
            inString = strings >> 63 != 0
            var structural = (masks.open | masks.close) & ~strings
            while structural != 0 {
                let bit = structural.trailingZeroBitCount
                structural &= structural &- 1
                if masks.open >> UInt64(bit) & 1 != 0 {
                    depth += 1
                } else {
                    depth -= 1
                    if depth == 0 { return i + bit + 1 }
                    if depth < 0 { return nil }
                }
            }
            i += 64
        }
        return nil
    }
}
