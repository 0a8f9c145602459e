/// The record line format of an archive, recorded as `archiver.format` in each events manifest's metadata.
///
/// Both formats chain the same bytes: `hash(n) = SHA-256(hash(n-1) ‖ body(n))`, so the chain heads, records
/// roots, signatures and anchors of an archive do not depend on its format (docs/FORMAT.md).
public enum RecordFormat: String, Sendable, Hashable, CaseIterable, Comparable, CustomStringConvertible {
    /// Each record line ends with its chain hash: `<body>,"hash":"<64 hex>"}`.
    case v1 = "1"
    /// Record lines carry no hash (`<body>}`); readers recompute the chain. Each data file's chain values
    /// before its first record and after its last are in the manifest metadata.
    case v2 = "2"

    /// The format a new archive is written in unless configured otherwise.
    public static let newArchiveDefault = RecordFormat.v2

    /// Parses "1", "2", "v1" or "v2".
    public init?(parsing text: String) {
        let digits = text.hasPrefix("v") ? String(text.dropFirst()) : text
        guard let format = RecordFormat(rawValue: digits) else { return nil }
        self = format
    }

    /// The bytes of a record line after its body: `,"hash":"<64 hex>"}` in v1, `}` in v2.
    public var restCount: Int { self == .v1 ? RecordLayout.hashSuffixLength : 1 }

    public var description: String { rawValue }

    /// Later formats compare greater: an archive that holds several writes new snapshots in the latest.
    public static func < (a: RecordFormat, b: RecordFormat) -> Bool { Int(a.rawValue)! < Int(b.rawValue)! }
}
