/// Where a dataset's objects go (LODE_FORMAT.md §2): Go's three layouts with their exact key templates.
///
/// ```swift
/// LodeLayout.default.manifestKey(dataset: "orders", snapshot: "1767225600123456789")
/// // "datasets/orders/snapshots/1767225600123456789/manifest.json"
/// ```
public enum LodeLayout: Sendable, Hashable, CustomStringConvertible {
    /// `datasets/<dataset>/snapshots/<id>/…` — Go's default; partitioner `noop`.
    case `default`
    /// `datasets/<dataset>/segments/<id>/manifest.json` (canonical) plus
    /// `datasets/<dataset>/partitions/<k=v>/…/segments/<id>/{manifest.json,data/…}`; partitioner `hive`.
    /// `keys` are the partition keys in order; a layout detected from a store holding only canonical manifests
    /// has none.
    case hive(keys: [String])
    /// `<dataset>/<id>/…` — no `datasets/` prefix, so datasets cannot be enumerated.
    case flat

    public var description: String {
        switch self {
        case .default: return "default"
        case .flat: return "flat"
        case .hive(let keys): return keys.isEmpty ? "hive" : "hive(\(keys.joined(separator: ",")))"
        }
    }

    /// The partitioner name written in manifests: `"hive"` or `"noop"`.
    public var partitionerName: String {
        if case .hive = self { return "hive" }
        return "noop"
    }

    var isHive: Bool {
        if case .hive = self { return true }
        return false
    }

    // MARK: Key templates

    /// `datasets/` for default and hive; `nil` for flat (Go `ErrDatasetsNotModeled`).
    public var datasetsPrefix: String? {
        self == .flat ? nil : "datasets/"
    }

    /// Everything of one dataset lives under this prefix.
    public func datasetPrefix(dataset: String) -> String {
        self == .flat ? "\(dataset)/" : "datasets/\(dataset)/"
    }

    /// The prefix Go lists to find a dataset's manifests.
    public func snapshotsPrefix(dataset: String) -> String {
        switch self {
        case .default: return "datasets/\(dataset)/snapshots/"
        case .hive: return "datasets/\(dataset)/"
        case .flat: return "\(dataset)/"
        }
    }

    /// The `latest` pointer.
    public func latestPointerKey(dataset: String) -> String {
        datasetPrefix(dataset: dataset) + "latest"
    }

    /// The snapshot's directory (no trailing `/`). For hive, `partition` (an encoded path such as
    /// `day=2026-01-01`) selects a partition directory; empty means the canonical one.
    public func snapshotDirectory(dataset: String, snapshot: String, partition: String = "") -> String {
        switch self {
        case .default: return "datasets/\(dataset)/snapshots/\(snapshot)"
        case .flat: return "\(dataset)/\(snapshot)"
        case .hive:
            if partition.isEmpty { return "datasets/\(dataset)/segments/\(snapshot)" }
            return "datasets/\(dataset)/partitions/\(partition)/segments/\(snapshot)"
        }
    }

    /// The canonical manifest key (the one whose presence is the commit).
    public func manifestKey(dataset: String, snapshot: String) -> String {
        snapshotDirectory(dataset: dataset, snapshot: snapshot) + "/manifest.json"
    }

    /// A hive partition copy of the manifest; the canonical key for other layouts or an empty partition.
    public func manifestKey(dataset: String, snapshot: String, partition: String) -> String {
        snapshotDirectory(dataset: dataset, snapshot: snapshot, partition: partition) + "/manifest.json"
    }

    /// A data object: `<snapshot dir>/data/<fileName>`.
    public func dataFileKey(dataset: String, snapshot: String, partition: String = "", fileName: String) -> String {
        snapshotDirectory(dataset: dataset, snapshot: snapshot, partition: partition) + "/data/" + fileName
    }

    // MARK: Recognising manifest keys (Go `isManifest`, `parseDatasetID`, `parseSegmentID`)

    /// What a manifest key says about itself.
    public struct ManifestKey: Sendable, Hashable {
        public var key: String
        public var dataset: String
        public var snapshot: String
        /// The hive partition path (`day=…/region=…`), empty for a canonical manifest or other layouts.
        public var partition: String
    }

    /// Parses `key` as a manifest key of this layout; `nil` when it is not one (data files, `latest`,
    /// `latest.lock`, temporary and foreign files, §2.7).
    public func parseManifestKey(_ key: String) -> ManifestKey? {
        let parts = key.split(separator: "/", omittingEmptySubsequences: false)
        switch self {
        case .default:
            guard parts.count == 5, parts[0] == "datasets", !parts[1].isEmpty, parts[2] == "snapshots",
                !parts[3].isEmpty, parts[4] == "manifest.json"
            else { return nil }
            return ManifestKey(key: key, dataset: String(parts[1]), snapshot: String(parts[3]), partition: "")
        case .flat:
            guard parts.count == 3, !parts[0].isEmpty, !parts[1].isEmpty, parts[2] == "manifest.json" else {
                return nil
            }
            return ManifestKey(key: key, dataset: String(parts[0]), snapshot: String(parts[1]), partition: "")
        case .hive:
            guard parts.count >= 4, parts[0] == "datasets", !parts[1].isEmpty, parts.last == "manifest.json" else {
                return nil
            }
            for index in 2..<(parts.count - 2) where parts[index] == "segments" && parts[index + 2] == "manifest.json" {
                guard !parts[index + 1].isEmpty else { return nil }
                return ManifestKey(
                    key: key, dataset: String(parts[1]), snapshot: String(parts[index + 1]),
                    partition: Self.partitionPath(in: parts))
            }
            return nil
        }
    }

    /// Go `extractPartitionPath`: the segments between `partitions` and the next `segments`, or empty.
    public static func partitionPath(ofKey key: String) -> String {
        partitionPath(in: key.split(separator: "/", omittingEmptySubsequences: false))
    }

    private static func partitionPath(in parts: [Substring]) -> String {
        guard parts.count > 2, let start = parts[2...].firstIndex(of: "partitions"),
            let end = parts[(start + 1)...].firstIndex(of: "segments"), end > start + 1
        else { return "" }
        return parts[(start + 1)..<end].joined(separator: "/")
    }

    // MARK: Hive partitions

    /// Builds the encoded partition path from the layout's keys and the given values, e.g.
    /// `day=2026-01-01/region=eu`. Values are percent-encoded like Go's `url.PathEscape` (§2.3).
    /// - Throws: ``LodeError/Code/invalidConfiguration`` when this is not a hive layout or the value count differs.
    public func partitionPath(values: [String]) throws(LodeError) -> String {
        guard case .hive(let keys) = self else {
            throw LodeError(.invalidConfiguration, "only the hive layout has partitions (layout is \(self))")
        }
        guard values.count == keys.count else {
            throw LodeError(
                .invalidConfiguration,
                "the hive layout has \(keys.count) partition key(s) (\(keys.joined(separator: ", "))) but "
                    + "\(values.count) value(s) were given")
        }
        return zip(keys, values).map { "\($0)=\(Self.escapePartitionValue($1))" }.joined(separator: "/")
    }

    /// Encodes `(key, value)` pairs as a partition path (keys as given, values percent-encoded).
    public static func partitionPath(_ pairs: [(key: String, value: String)]) -> String {
        pairs.map { "\($0.key)=\(escapePartitionValue($0.value))" }.joined(separator: "/")
    }

    /// Go `url.PathEscape`: keeps `A–Z a–z 0–9 - _ . ~ $ & + : = @`, turns every other byte into `%XX`
    /// (uppercase hex).
    public static func escapePartitionValue(_ value: String) -> String {
        let hex = Array("0123456789ABCDEF".utf8)
        var out: [UInt8] = []
        out.reserveCapacity(value.utf8.count)
        for byte in value.utf8 {
            switch byte {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"),
                UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "_"), UInt8(ascii: "."),
                UInt8(ascii: "~"), UInt8(ascii: "$"), UInt8(ascii: "&"), UInt8(ascii: "+"), UInt8(ascii: ":"),
                UInt8(ascii: "="), UInt8(ascii: "@"):
                out.append(byte)
            default:
                out.append(UInt8(ascii: "%"))
                out.append(hex[Int(byte >> 4)])
                out.append(hex[Int(byte & 0xF)])
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    // MARK: Validation

    /// Checks a dataset or volume ID against §8 A10: `^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$`.
    /// - Throws: ``LodeError/Code/invalidConfiguration``.
    public static func validateDatasetID(_ id: String) throws(LodeError) {
        let bytes = Array(id.utf8)
        func allowed(_ byte: UInt8, first: Bool) -> Bool {
            switch byte {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"),
                UInt8(ascii: "0")...UInt8(ascii: "9"):
                return true
            case UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "-"): return !first
            default: return false
            }
        }
        guard !bytes.isEmpty, bytes.count <= 128, allowed(bytes[0], first: true),
            bytes.dropFirst().allSatisfy({ allowed($0, first: false) })
        else {
            throw LodeError(
                .invalidConfiguration,
                "dataset ID '\(id)' is not valid: use 1–128 characters from A–Z a–z 0–9 . _ -, starting with a "
                    + "letter or digit")
        }
    }

    /// Checks a snapshot ID this implementation writes: a non-empty decimal number (§8 A4).
    /// - Throws: ``LodeError/Code/invalidConfiguration``.
    public static func validateSnapshotIDForWriting(_ id: String) throws(LodeError) {
        guard !id.isEmpty, id.utf8.count <= 20, id.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) else {
            throw LodeError(
                .invalidConfiguration, "snapshot ID '\(id)' is not valid: write decimal Unix nanoseconds (19 digits)")
        }
    }

    /// Checks a snapshot ID read from a store or a caller: non-empty, no `/`, not `.` or `..`.
    /// - Throws: ``LodeError/Code/invalidPath``.
    public static func validateSnapshotIDForReading(_ id: String) throws(LodeError) {
        guard !id.isEmpty, !id.contains("/"), id != ".", id != ".." else {
            throw LodeError.invalidPath(id, "a snapshot ID must be non-empty and contain no '/'")
        }
    }

    /// Checks hive partition keys: at least one; each non-empty without `/` or `=`.
    func validateForWriting() throws(LodeError) {
        guard case .hive(let keys) = self else { return }
        guard !keys.isEmpty else {
            throw LodeError(
                .invalidConfiguration, "the hive layout needs at least one partition key; use .default otherwise")
        }
        for key in keys where key.isEmpty || key.contains("/") || key.contains("=") || key == "." || key == ".." {
            throw LodeError(.invalidConfiguration, "hive partition key '\(key)' must be non-empty without '/' or '='")
        }
    }
}
