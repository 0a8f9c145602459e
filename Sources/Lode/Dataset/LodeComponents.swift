/// How records become bytes (LODE_FORMAT.md §5.2, §5.3).
public enum LodeCodec: Sendable, Hashable {
    /// One JSON value per record, each followed by `\n`. Files are named `data<ext>`.
    case jsonl
    /// Raw blob: one opaque payload per snapshot, `row_count` 1, file `blob<ext>`, no `codec` key.
    case none

    /// The `codec` value in manifests (`nil` for a raw blob).
    public var manifestName: String? {
        switch self {
        case .jsonl: return "jsonl"
        case .none: return nil
        }
    }

    /// The data file's base name: `data` for records, `blob` for a raw blob.
    public var baseFileName: String {
        switch self {
        case .jsonl: return "data"
        case .none: return "blob"
        }
    }
}

/// How encoded bytes are compressed before they are stored (§5.5). One gzip member or one zstd frame per file.
public enum LodeCompressor: Sendable, Hashable {
    case noop
    /// RFC 1952; Go writes the default level (6).
    case gzip(level: Int32 = 6)
    /// RFC 8878 frames with the content checksum; levels 1–19 (window ≤ 8 MiB).
    case zstd(level: Int32 = 3)

    /// The `compressor` value in manifests.
    public var manifestName: String {
        switch self {
        case .noop: return "noop"
        case .gzip: return "gzip"
        case .zstd: return "zstd"
        }
    }

    /// The data file extension: `""`, `".gz"` or `".zst"`.
    public var fileExtension: String {
        switch self {
        case .noop: return ""
        case .gzip: return ".gz"
        case .zstd: return ".zst"
        }
    }
}

/// The per-file checksum (§6): MD5 of the stored bytes, or none.
public enum LodeChecksum: Sendable, Hashable {
    case md5
    case none

    /// The `checksum_algorithm` value in manifests (`nil` when off).
    public var manifestName: String? {
        switch self {
        case .md5: return "md5"
        case .none: return nil
        }
    }
}

/// Decompression chosen by a manifest's `compressor` name, never by sniffing (§5.5).
enum StoredCompression: Sendable {
    case noop, gzip, zstd

    init(manifestName: String, key: String?) throws(LodeError) {
        switch manifestName {
        case "noop": self = .noop
        case "gzip": self = .gzip
        case "zstd": self = .zstd
        default:
            throw LodeError(
                .unsupportedCodec,
                "compressor '\(manifestName)' is not supported (noop, gzip, zstd are)"
                    + (key.map { " in manifest '\($0)'" } ?? ""), key: key)
        }
    }
}
