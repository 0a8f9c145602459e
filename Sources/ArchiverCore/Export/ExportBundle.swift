public import ArchiveFormat
import Foundation
import RawJSON

/// The layout of an export bundle (docs/AUDIT.md "Export bundles"): what `archiver export` writes and
/// `archiver verify-bundle` checks.
///
/// ```
/// bundle/
///   bundle.json            what was selected, from which archive and cut
///   records.jsonl          the selected events: their archived record lines, byte for byte
///   events.csv             (--format csv) the same events as a table
///   proofs.jsonl           one inclusion proof per record, same order
///   manifests/<id>.json    the stored manifests from the first snapshot holding a selected event to the cut
///   upcast.jsonl           (with upcasters) the events as replay presents them, in the replay --exec form
///   upcasters.json         (with upcasters) the rule set's canonical form; its SHA-256 is in bundle.json
///   README.md              how to check the bundle, with and without archiver
/// ```
public enum ExportBundle {
    public static let format = "lode-archiver export bundle v1"
    public static let info = "bundle.json"
    public static let records = "records.jsonl"
    public static let csv = "events.csv"
    public static let proofs = "proofs.jsonl"
    public static let manifests = "manifests"
    public static let readme = "README.md"
    public static let upcastView = "upcast.jsonl"
    public static let upcastRules = "upcasters.json"

    /// The CSV columns, in order.
    public static let csvColumns = [
        "position", "stream", "version", "id", "type", "recorded_at", "data", "metadata", "hash",
    ]

    /// One record's proof that it is in a signed snapshot at its place in the hash chain.
    public struct Proof: Sendable, Hashable {
        public var position: Int64
        /// The snapshot whose manifest's `archiver.records_root` the path leads to.
        public var snapshotID: String
        /// The record's leaf index in that snapshot's records tree (0-based, position order).
        public var index: Int
        /// The snapshot's event count: the tree's size.
        public var size: Int
        /// The chain hash of the record before this one (the snapshot's chain start for index 0): with the
        /// record's body it recomputes the record's own chain hash.
        public var previous: ChainHash
        /// RFC 9162 audit path, nearest sibling first.
        public var path: [ChainHash]

        public init(
            position: Int64, snapshotID: String, index: Int, size: Int, previous: ChainHash, path: [ChainHash]
        ) {
            self.position = position
            self.snapshotID = snapshotID
            self.index = index
            self.size = size
            self.previous = previous
            self.path = path
        }

        /// One compact JSON line (no newline); every value is a number or a hex/digit string, so no escaping.
        public var line: String {
            "{\"position\":\(position),\"snapshot\":\"\(snapshotID)\",\"index\":\(index),\"size\":\(size),"
                + "\"previous\":\"\(previous.hex)\",\"path\":[\(path.map { "\"\($0.hex)\"" }.joined(separator: ","))]}"
        }

        /// Parses ``line``.
        public init(parsing line: String) throws {
            guard case .object(let object)? = try? JSONValue.parse(line),
                let position = object["position"]?.int64,
                let snapshotID = object["snapshot"]?.string,
                let index = object["index"]?.int64.map({ Int($0) }),
                let size = object["size"]?.int64.map({ Int($0) }),
                let previousHex = object["previous"]?.string, let previous = ChainHash(hex: previousHex),
                !previousHex.isEmpty, case .array(let pathValues)? = object["path"]
            else { throw ArchiverError(.unreadable, "malformed proof line") }
            let pathHex = pathValues.compactMap(\.string)
            guard pathHex.count == pathValues.count else { throw ArchiverError(.unreadable, "malformed audit path") }
            let path = pathHex.compactMap { $0.count == 64 ? ChainHash(hex: $0) : nil }
            guard path.count == pathHex.count else { throw ArchiverError(.unreadable, "malformed audit path") }
            self.init(
                position: position, snapshotID: snapshotID, index: index, size: size, previous: previous, path: path)
        }
    }

    /// `bundle.json`.
    public struct Info: Codable, Sendable, Hashable {
        public var format: String
        public var dataset: String
        /// The snapshot the export was read at, and its facts (compare with a published anchor).
        public var cutSnapshot: String
        public var cutChainHead: String
        public var cutLastPosition: Int64
        public var selection: [String: [String]]
        public var events: Int64
        public var snapshots: [String]
        public var createdAt: String
        public var producer: String
        /// SHA-256 of ``ExportBundle/upcastRules`` when the bundle has an upcast view.
        public var upcasters: String? = nil

        enum CodingKeys: String, CodingKey {
            case format, dataset, selection, events, snapshots, producer
            case cutSnapshot = "cut_snapshot"
            case cutChainHead = "cut_chain_head"
            case cutLastPosition = "cut_last_position"
            case createdAt = "created_at"
            case upcasters = "upcasters_sha256"
        }
    }

    /// RFC 4180 field quoting: quoted when it holds a comma, quote, CR or LF; quotes doubled.
    public static func csvField(_ bytes: UnsafeRawBufferPointer, into out: inout [UInt8]) {
        let needsQuotes = bytes.contains { $0 == 0x2C || $0 == 0x22 || $0 == 0x0A || $0 == 0x0D }
        guard needsQuotes else {
            out.append(contentsOf: bytes)
            return
        }
        out.append(0x22)
        for b in bytes {
            if b == 0x22 { out.append(0x22) }
            out.append(b)
        }
        out.append(0x22)
    }

    /// Splits RFC 4180 CSV text into rows of fields (quoted fields may hold commas, doubled quotes and line
    /// breaks; rows end with LF or CRLF).
    /// - Throws: ``ArchiverError`` `.unreadable` for an unterminated quote or text after a closing quote.
    public static func parseCSV(_ text: [UInt8]) throws -> [[[UInt8]]] {
        var rows: [[[UInt8]]] = []
        var row: [[UInt8]] = []
        var field: [UInt8] = []
        var i = 0
        var atFieldStart = true
        var rowHasContent = false
        while i < text.count {
            let c = text[i]
            if atFieldStart && c == 0x22 {
                // Quoted field.
                i += 1
                while true {
                    guard i < text.count else {
                        throw ArchiverError(.unreadable, "CSV row \(rows.count + 1): a quoted field is not closed")
                    }
                    if text[i] == 0x22 {
                        if i + 1 < text.count && text[i + 1] == 0x22 {
                            field.append(0x22)
                            i += 2
                            continue
                        }
                        i += 1
                        break
                    }
                    field.append(text[i])
                    i += 1
                }
                guard i == text.count || text[i] == 0x2C || text[i] == 0x0A || text[i] == 0x0D else {
                    throw ArchiverError(.unreadable, "CSV row \(rows.count + 1): text after a closing quote")
                }
                atFieldStart = false
                rowHasContent = true
                continue
            }
            switch c {
            case 0x2C:
                row.append(field)
                field = []
                atFieldStart = true
                rowHasContent = true
                i += 1
            case 0x0D where i + 1 < text.count && text[i + 1] == 0x0A:
                i += 1
            case 0x0A:
                if rowHasContent || !field.isEmpty {
                    row.append(field)
                    rows.append(row)
                }
                row = []
                field = []
                atFieldStart = true
                rowHasContent = false
                i += 1
            default:
                field.append(c)
                atFieldStart = false
                rowHasContent = true
                i += 1
            }
        }
        if rowHasContent || !field.isEmpty {
            row.append(field)
            rows.append(row)
        }
        return rows
    }
}
