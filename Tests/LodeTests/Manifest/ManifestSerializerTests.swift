import Foundation
import Lode
import RawJSON
import Testing

/// G8: the serializer must match Go's `json.MarshalIndent(m, "", "  ")` byte for byte.
@Suite struct ManifestSerializerTests {
    /// LODE_FORMAT.md §3.3, verbatim.
    static let workedExample = """
        {
          "schema_name": "lode-manifest",
          "format_version": "1.0.0",
          "dataset_id": "orders",
          "snapshot_id": "1767225600123456789",
          "created_at": "2026-01-01T00:00:00.130002Z",
          "metadata": {
            "archiver.first_position": "1000",
            "archiver.last_position": "1001",
            "archiver.stream": "orders"
          },
          "files": [
            {
              "path": "datasets/orders/snapshots/1767225600123456789/data/data",
              "size_bytes": 61,
              "checksum": "a2cb22aa58bb0f8974d90e6948de81fe"
            }
          ],
          "parent_snapshot_id": "1767139200000000042",
          "row_count": 2,
          "min_timestamp": "2025-12-31T23:59:58.5Z",
          "max_timestamp": "2025-12-31T23:59:59.25Z",
          "codec": "jsonl",
          "compressor": "noop",
          "partitioner": "noop",
          "checksum_algorithm": "md5"
        }
        """

    static var workedExampleManifest: Manifest {
        Manifest(
            datasetID: "orders", snapshotID: "1767225600123456789", createdAt: "2026-01-01T00:00:00.130002Z",
            metadata: [
                "archiver.stream": "orders", "archiver.last_position": "1001", "archiver.first_position": "1000",
            ],
            files: [
                FileRef(
                    path: "datasets/orders/snapshots/1767225600123456789/data/data", sizeBytes: 61,
                    checksum: "a2cb22aa58bb0f8974d90e6948de81fe")
            ],
            parentSnapshotID: "1767139200000000042", rowCount: 2, minTimestamp: "2025-12-31T23:59:58.5Z",
            maxTimestamp: "2025-12-31T23:59:59.25Z", codec: "jsonl", compressor: "noop", partitioner: "noop",
            checksumAlgorithm: "md5")
    }

    @Test func workedExampleIsByteExact() throws {
        let manifest = Self.workedExampleManifest
        #expect(text(manifest.jsonBytes()) == Self.workedExample)
        #expect(manifest.jsonBytes() == bytes(Self.workedExample))
        #expect(manifest.jsonBytes().last == UInt8(ascii: "}"))  // no trailing newline
    }

    @Test func workedExampleDecodesToTheSameFields() throws {
        let decoded = try Manifest.decode(bytes(Self.workedExample))
        #expect(decoded == Self.workedExampleManifest)
    }

    /// §3.3: first snapshot, raw blob, no checksum: parent, codec, checksum_algorithm and timestamps left out.
    @Test func rawBlobWithoutChecksumOmitsOptionalFields() {
        let manifest = Manifest(
            datasetID: "blobs", snapshotID: "1767225600000000001", createdAt: "2026-01-01T00:00:00Z",
            files: [FileRef(path: "datasets/blobs/snapshots/1767225600000000001/data/blob", sizeBytes: 11)],
            rowCount: 1, codec: nil, compressor: "noop", partitioner: "noop", checksumAlgorithm: nil)
        let expected = """
            {
              "schema_name": "lode-manifest",
              "format_version": "1.0.0",
              "dataset_id": "blobs",
              "snapshot_id": "1767225600000000001",
              "created_at": "2026-01-01T00:00:00Z",
              "metadata": {},
              "files": [
                {
                  "path": "datasets/blobs/snapshots/1767225600000000001/data/blob",
                  "size_bytes": 11
                }
              ],
              "row_count": 1,
              "compressor": "noop",
              "partitioner": "noop"
            }
            """
        #expect(text(manifest.jsonBytes()) == expected)
    }

    @Test func emptyFilesIsAnEmptyArray() {
        let manifest = Manifest(
            datasetID: "d", snapshotID: "1", createdAt: "2026-01-01T00:00:00Z", files: [], rowCount: 0,
            codec: "jsonl", compressor: "zstd", partitioner: "noop", checksumAlgorithm: "md5")
        #expect(text(manifest.jsonBytes()).contains("\n  \"metadata\": {},\n  \"files\": [],\n  \"row_count\": 0,"))
    }

    /// §3.5, verbatim.
    @Test func volumeWorkedExampleIsByteExact() async throws {
        let expected = """
            {
              "schema_name": "lode-volume-manifest",
              "format_version": "1.0.0",
              "volume_id": "agg-state",
              "snapshot_id": "1767225601000000000",
              "created_at": "2026-01-01T00:00:01Z",
              "metadata": {},
              "total_length": 100,
              "blocks": [
                {
                  "offset": 0,
                  "length": 10,
                  "path": "volumes/agg-state/data/0-10.bin",
                  "checksum": "16c52c6e8326c071da771e66dc6e9e57"
                },
                {
                  "offset": 50,
                  "length": 20,
                  "path": "volumes/agg-state/data/50-20.bin",
                  "checksum": "52af981ec4665ea27dd1769e0ee2f197"
                }
              ],
              "parent_snapshot_id": "1767225600500000000",
              "checksum_algorithm": "md5"
            }
            """
        let manifest = VolumeManifest(
            volumeID: "agg-state", snapshotID: "1767225601000000000", createdAt: "2026-01-01T00:00:01Z",
            totalLength: 100,
            blocks: [
                BlockRef(
                    offset: 0, length: 10, path: "volumes/agg-state/data/0-10.bin",
                    checksum: "16c52c6e8326c071da771e66dc6e9e57"),
                BlockRef(
                    offset: 50, length: 20, path: "volumes/agg-state/data/50-20.bin",
                    checksum: "52af981ec4665ea27dd1769e0ee2f197"),
            ], parentSnapshotID: "1767225600500000000", checksumAlgorithm: "md5")
        #expect(text(manifest.jsonBytes()) == expected)
        #expect(try VolumeManifest.decode(bytes(expected)) == manifest)
        // The block checksums are the MD5s of ten 'A's and twenty 'B's.
        #expect(try await md5Hex(Array(repeating: UInt8(ascii: "A"), count: 10)) == "16c52c6e8326c071da771e66dc6e9e57")
        #expect(try await md5Hex(Array(repeating: UInt8(ascii: "B"), count: 20)) == "52af981ec4665ea27dd1769e0ee2f197")
    }

    /// Go's string escaping: `"` `\`, control characters (short forms for \b \f \n \r \t), HTML-safe `<>&`,
    /// U+2028/2029; DEL, `/` and non-ASCII raw.
    @Test(arguments: [
        ("plain", #""plain""#),
        ("a<b>&c", #""a\u003cb\u003e\u0026c""#),
        ("\u{2028}x\u{2029}", #""\u2028x\u2029""#),
        ("\u{0}\u{1}\u{1f}", #""\u0000\u0001\u001f""#),
        ("\u{8}\u{c}\n\r\t", #""\b\f\n\r\t""#),
        ("q\"b\\", #""q\"b\\""#),
        ("/\u{7f}", "\"/\u{7f}\""),
        ("café 😀 \u{2027}", "\"café 😀 \u{2027}\""),
    ])
    func goStringEscaping(input: String, expected: String) {
        #expect(JSONValue.string(input).compactJSON == expected)
    }

    @Test func metadataKeysSortByBytesAndNestAsMarshalIndentDoes() {
        var manifest = Self.workedExampleManifest
        manifest.metadata = [
            "b": "2", "a": .array([1, .object(["x": true])]), "B": .null, "é": "e", "z": .object([:]),
            "y": .array([]), "n": .number("-1.5e3"),
        ]
        let json = text(manifest.jsonBytes())
        let expected = """
              "metadata": {
                "B": null,
                "a": [
                  1,
                  {
                    "x": true
                  }
                ],
                "b": "2",
                "n": -1.5e3,
                "y": [],
                "z": {},
                "é": "e"
              },
            """
        #expect(json.contains(expected))
    }

    @Test func fileStatsAndColumnStatsFollowGoOmitempty() throws {
        var manifest = Self.workedExampleManifest
        manifest.files = [
            FileRef(
                path: "p", sizeBytes: 1, checksum: nil,
                stats: FileStats(
                    rowCount: 3,
                    columns: [
                        ColumnStats(name: "a", min: 1, max: .string("z"), nullCount: 0, distinctCount: 2),
                        ColumnStats(name: "b", min: .null, max: nil, nullCount: 3, distinctCount: 0),
                    ])),
            FileRef(path: "q", sizeBytes: 0, stats: FileStats(rowCount: 0)),
        ]
        let expected = """
              "files": [
                {
                  "path": "p",
                  "size_bytes": 1,
                  "stats": {
                    "row_count": 3,
                    "columns": [
                      {
                        "name": "a",
                        "min": 1,
                        "max": "z",
                        "null_count": 0,
                        "distinct_count": 2
                      },
                      {
                        "name": "b",
                        "null_count": 3
                      }
                    ]
                  }
                },
                {
                  "path": "q",
                  "size_bytes": 0,
                  "stats": {
                    "row_count": 0
                  }
                }
              ],
            """
        let json = manifest.jsonBytes()
        #expect(text(json).contains(expected))
        #expect(try Manifest.decode(json).files[0].stats?.columns[1].min == nil)
        #expect(try Manifest.decode(json).jsonBytes() == json)
    }

    /// Differential check against the fixture writer (Python's json, which prints like Go's MarshalIndent for
    /// these values): every checked-in manifest re-serializes to exactly its bytes.
    @Test func fixtureManifestsReserializeByteForByte() throws {
        let root = Fixtures.root
        let enumerator = FileManager.default.enumerator(atPath: root)
        var checked = 0
        while let relative = enumerator?.nextObject() as? String {
            guard relative.hasSuffix("manifest.json"), relative.hasPrefix("G") else { continue }
            let original = try Fixtures.bytes(relative)
            if text(original).contains("\"files\": null") {
                // Go's nil slice; this implementation always writes [] (§8 A6).
                let rewritten = text(original).replacingOccurrences(of: "\"files\": null", with: "\"files\": []")
                #expect(try Manifest.decode(original).jsonBytes() == bytes(rewritten), "\(relative)")
            } else if relative.contains("volumes/") {
                #expect(try VolumeManifest.decode(original).jsonBytes() == original, "\(relative)")
            } else {
                #expect(try Manifest.decode(original).jsonBytes() == original, "\(relative)")
            }
            checked += 1
        }
        #expect(checked >= 20)
    }
}
