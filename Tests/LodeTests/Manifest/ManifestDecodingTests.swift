import Foundation
import Lode
import Testing

/// N1, N4 and the decoder's leniency and strictness rules.
@Suite struct ManifestDecodingTests {
    /// N1: one fixture per invalid field, each rejected with `.manifestInvalid` naming the field.
    @Test(arguments: [
        ("missing-schema_name", "schema_name"),
        ("missing-format_version", "format_version"),
        ("missing-dataset_id", "dataset_id"),
        ("missing-snapshot_id", "snapshot_id"),
        ("missing-created_at", "created_at"),
        ("missing-compressor", "compressor"),
        ("missing-partitioner", "partitioner"),
        ("empty-schema_name", "schema_name"),
        ("zero-created_at", "created_at"),
        ("bad-created_at", "created_at"),
        ("missing-metadata", "metadata"),
        ("null-metadata", "metadata"),
        ("negative-row_count", "row_count"),
        ("empty-files-path", "files[0].path"),
        ("negative-files-size_bytes", "files[0].size_bytes"),
        ("string-row_count", "row_count"),
        ("float-row_count", "row_count"),
        ("exponent-size_bytes", "files[0].size_bytes"),
        ("unknown-checksum_algorithm", "checksum_algorithm"),
    ])
    func invalidFieldIsNamed(fixture: String, field: String) async throws {
        let key = "N1-invalid-manifests/\(fixture).json"
        let raw = try Fixtures.bytes(key)
        let error = await expectLodeError(.manifestInvalid) { try Manifest.decode(raw, key: key) }
        #expect(error?.field == field)
        #expect(error?.key == key)
        #expect(error?.message.contains(field) == true)
        #expect(error?.message.contains(key) == true)
    }

    /// §8 A6: `files: null` (Go `Write` with zero records) reads as `[]`.
    @Test func nullFilesIsAccepted() throws {
        let manifest = try Manifest.decode(try Fixtures.bytes("N1-invalid-manifests/accepted-null-files.json"))
        #expect(manifest.files == [])
        #expect(manifest.rowCount == 2)
    }

    /// N4.
    @Test func unknownTopLevelKeyIsIgnored() throws {
        let manifest = try Manifest.decode(try Fixtures.bytes("N4-version-and-schema/accepted-unknown-key.json"))
        #expect(manifest.datasetID == "events")
        #expect(manifest.files.count == 1)
        // and it is not carried into what this implementation writes
        #expect(!text(manifest.jsonBytes()).contains("future_field"))
    }

    @Test func formatVersionTwoIsRejected() async throws {
        let raw = try Fixtures.bytes("N4-version-and-schema/format_version-2.0.0.json")
        let error = await expectLodeError(.manifestInvalid) { try Manifest.decode(raw) }
        #expect(error?.field == "format_version")
    }

    @Test func otherSchemaNameIsRejected() async throws {
        let raw = try Fixtures.bytes("N4-version-and-schema/schema_name-other.json")
        let error = await expectLodeError(.manifestInvalid) { try Manifest.decode(raw) }
        #expect(error?.field == "schema_name")
    }

    @Test func minorVersionBumpIsAccepted() throws {
        let raw = try Fixtures.bytes("N4-version-and-schema/accepted-format_version-1.2.0.json")
        #expect(try Manifest.decode(raw).formatVersion == "1.2.0")
    }

    @Test(arguments: ["", "{", "[]", "null", "{\"schema_name\": \"lode-manifest\",}", "{} x", "\u{FEFF}{}"])
    func undecodableIsCorrupt(input: String) async {
        let error = await expectLodeError(.corruptManifest) {
            try Manifest.decode(bytes(input), key: "k/manifest.json")
        }
        #expect(error?.key == "k/manifest.json")
    }

    @Test func wrongTypesNameTheirField() async {
        var json = text(ManifestSerializerTests.workedExampleManifest.jsonBytes())
        json = json.replacingOccurrences(of: "\"metadata\": {", with: "\"metadata\": [], \"x\": {")
        let error = await expectLodeError(.manifestInvalid) { try Manifest.decode(bytes(json)) }
        #expect(error?.field == "metadata")
    }

    @Test func checksumMustBeLowercaseHex() async {
        var manifest = ManifestSerializerTests.workedExampleManifest
        manifest.files[0].checksum = "A2CB22AA58BB0F8974D90E6948DE81FE"
        let error = await expectLodeError(.manifestInvalid) { try Manifest.decode(manifest.jsonBytes()) }
        #expect(error?.field == "files[0].checksum")
    }

    @Test func nullOptionalFieldsReadAsAbsent() throws {
        var json = text(ManifestSerializerTests.workedExampleManifest.jsonBytes())
        json = json.replacingOccurrences(
            of: "\"parent_snapshot_id\": \"1767139200000000042\"", with: "\"parent_snapshot_id\": null")
        let manifest = try Manifest.decode(bytes(json))
        #expect(manifest.parent == nil)
    }

    @Test func keysMatchCaseSensitively() async {
        let json = text(ManifestSerializerTests.workedExampleManifest.jsonBytes())
            .replacingOccurrences(of: "\"schema_name\"", with: "\"Schema_Name\"")
        let error = await expectLodeError(.manifestInvalid) { try Manifest.decode(bytes(json)) }
        #expect(error?.field == "schema_name")
    }

    @Test func volumeValidation() async throws {
        let good = try Fixtures.bytes("G7-volume/volumes/agg-state/snapshots/1767225602000000000/manifest.json")
        let volume = try VolumeManifest.decode(good)
        #expect(volume.blocks.map(\.offset) == [0, 10, 50])
        var overlapping = volume
        overlapping.blocks[1].length = 41
        var error = await expectLodeError(.manifestInvalid) { try VolumeManifest.decode(overlapping.jsonBytes()) }
        #expect(error?.field == "blocks")
        var beyond = volume
        beyond.blocks[2].length = 51
        error = await expectLodeError(.manifestInvalid) { try VolumeManifest.decode(beyond.jsonBytes()) }
        #expect(error?.field == "blocks[2]")
        var zeroLength = volume
        zeroLength.totalLength = 0
        error = await expectLodeError(.manifestInvalid) { try VolumeManifest.decode(zeroLength.jsonBytes()) }
        #expect(error?.field == "total_length")
    }
}

@Suite struct TimestampTests {
    @Test(arguments: [
        ("2026-01-01T00:00:00.130002Z", 1_767_225_600, 130_002_000, "2026-01-01T00:00:00.130002Z"),
        ("2026-01-01T00:00:00Z", 1_767_225_600, 0, "2026-01-01T00:00:00Z"),
        ("2026-01-01T02:00:00+02:00", 1_767_225_600, 0, "2026-01-01T00:00:00Z"),
        ("2025-12-31T19:30:00.5-04:30", 1_767_225_600, 500_000_000, "2026-01-01T00:00:00.5Z"),
        ("1970-01-01T00:00:00.000000001Z", 0, 1, "1970-01-01T00:00:00.000000001Z"),
        ("1969-12-31T23:59:59Z", -1, 0, "1969-12-31T23:59:59Z"),
        ("2024-02-29T12:00:00Z", 1_709_208_000, 0, "2024-02-29T12:00:00Z"),
    ])
    func parsesAndFormats(input: String, seconds: Int64, nanos: Int32, utc: String) throws {
        let parsed = try #require(LodeTimestamp.parse(input))
        #expect(parsed.seconds == seconds)
        #expect(parsed.nanoseconds == nanos)
        #expect(parsed.rfc3339 == utc)
    }

    @Test(arguments: [
        "2026-01-01", "2026-01-01t00:00:00Z", "2026-01-01T00:00:00z", "2026-01-01T00:00:00", "2026-13-01T00:00:00Z",
        "2025-02-29T00:00:00Z", "2026-01-01T24:00:00Z", "2026-01-01T00:00:60Z", "2026-01-01T00:00:00.Z",
        "2026-01-01T00:00:00.1234567891Z", "2026-01-01T00:00:00+0200", "2026-01-01 00:00:00Z",
    ])
    func rejectsNonRFC3339(input: String) {
        #expect(LodeTimestamp.parse(input) == nil)
    }

    @Test func zeroTimeIsDetectedInAnyZone() throws {
        #expect(try #require(LodeTimestamp.parse("0001-01-01T00:00:00Z")).isZero)
        #expect(try #require(LodeTimestamp.parse("0001-01-01T01:00:00+01:00")).isZero)
        #expect(try #require(LodeTimestamp.parse("0001-01-01T00:00:00.1Z")).isZero == false)
    }

    @Test func snapshotIDsIncreaseStrictly() {
        var previous = SnapshotIDs.next()
        #expect(previous.count == 19)
        for _ in 0..<1000 {
            let next = SnapshotIDs.next()
            #expect(Int64(next)! > Int64(previous)!)
            previous = next
        }
        let future = String(Int64(previous)! + 10_000_000_000)  // 10 s ahead (e.g. another host's clock)
        #expect(SnapshotIDs.next(after: future) == String(Int64(future)! + 1))
    }
}
