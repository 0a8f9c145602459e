import ArchiverCore
import ArgumentParser
import Foundation
import Lode

/// `archiver stats`: what the archive costs to store, by dataset.
struct StatsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "stats",
        abstract: "Archive size by dataset: snapshots, files, records, stored bytes, bytes/record, compression ratio.",
        discussion: """
            One tab-separated line per Lode dataset of the archive (events, compaction generations, aggregate \
            snapshots, drills, the catalog), then a total. Counts and stored bytes come from the manifests: every \
            snapshot, including data files a compaction superseded and `compact --retire` has not yet deleted. \
            uncompressed_bytes and ratio (uncompressed / stored) read every data file once for its zstd frame \
            sizes; --manifests-only skips that (a large archive on S3 costs a full read). The total's \
            bytes_per_record is all stored bytes over the events of the events dataset: what one event costs.

            Examples:
              archiver stats
              archiver stats --archive s3://bucket/archive --manifests-only
            """)

    @OptionGroup var archiveOptions: ArchiveOptions

    @Flag(help: "Read only the manifests: no uncompressed size or compression ratio.")
    var manifestsOnly = false

    func run() async throws {
        try await CLIErrors.reporting {
            let archive = try await ArchiveOpener.open(archiveOptions)
            let stats = try await ArchiveStats.collect(store: archive.store, uncompressed: !manifestsOnly)
            var total = DatasetStats(datasetID: "total")
            for entry in stats {
                total.snapshots += entry.snapshots
                total.files += entry.files
                total.storedBytes += entry.storedBytes
                if let bytes = entry.uncompressedBytes {
                    total.uncompressedBytes = (total.uncompressedBytes ?? 0) + bytes
                }
            }
            total.records = stats.first { $0.datasetID == archive.events.id }?.records ?? 0
            print("dataset\tsnapshots\tfiles\trecords\tstored_bytes\tbytes_per_record\tuncompressed_bytes\tratio")
            for entry in stats + [total] { print(Self.line(entry)) }
        }
    }

    /// One row of the table; `-` where a value is unknown.
    static func line(_ s: DatasetStats) -> String {
        let perRecord = s.bytesPerRecord.map { String(format: "%.1f", $0) } ?? "-"
        let ratio = s.compressionRatio.map { String(format: "%.2f", $0) } ?? "-"
        return "\(s.datasetID)\t\(s.snapshots)\t\(s.files)\t\(s.records)\t\(s.storedBytes)\t\(perRecord)\t"
            + "\(s.uncompressedBytes.map(String.init) ?? "-")\t\(ratio)"
    }
}
