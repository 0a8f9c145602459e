import ArchiveFormat
import Lode

extension SnapshotIndex {
    /// Reads `cut` (or its objects `only`), once: every object checked against its manifest's size and MD5, the
    /// snapshot's hash chain recomputed from its chain start to its chain head when it is read whole, and each
    /// frame's last position and each stream's lines noted on the way.
    ///
    /// - Returns: nil when an object is not made of frames that each end at a record's end with their content
    ///   size recorded (gzip, uncompressed, or zstd streamed by older writers): such a snapshot is read as a
    ///   stream instead.
    /// - Throws: Lode errors for missing or altered objects, ``ArchiveFormatError`` for malformed records or a
    ///   broken hash chain.
    static func build(_ cut: CutPoint, only: [Int]? = nil, archive: Archive) async throws -> SnapshotIndex? {
        // Spans of at most 0 bytes are single frames: chunk n of an object is its frame n.
        let loaded = try await ArchiveReader.load(cut, archive: archive, only: only, spanBytes: 0)
        let frameLists = loaded.pipelines.compactMap(\.feed.frames)
        guard frameLists.count == loaded.pipelines.count else {
            loaded.pipelines.forEach { $0.cancel() }
            return nil
        }
        var lastPositions = frameLists.map { Array(repeating: Int64.min, count: $0.count) }
        var streams: [UInt64: [LineRef]] = [:]
        var misplaced = false
        var reader = ArchiveReader(archive: archive)
        reader.verifySnapshotChains = true
        var stats = ReadStats()
        let plan = ReadPlan(cuts: [cut], maxPosition: nil, maxRecordedAt: nil, selector: .latest)
        _ = try await reader.deliver(loaded, plan: plan, after: 0, chainStart: nil, stats: &stats) {
            line, fields, site in
            guard site.chunk < lastPositions[site.file].count else {
                misplaced = true
                return
            }
            lastPositions[site.file][site.chunk] = fields.position
            let ref = LineRef(
                file: UInt32(site.file), frame: UInt32(site.chunk), start: UInt32(site.start),
                count: UInt32(line.count))
            streams[fields.streamHash, default: []].append(ref)
        }
        // A frame that ends inside a record was decoded behind the previous one: its offsets are not its own.
        if misplaced || loaded.pipelines.contains(where: \.realigned) { return nil }
        var files: [File] = []
        for (index, pipeline) in loaded.pipelines.enumerated() {
            var last = lastPositions[index]
            for frame in last.indices.dropFirst() where last[frame] == .min { last[frame] = last[frame - 1] }
            files.append(
                File(path: pipeline.path, stored: pipeline.feed.stored, frames: frameLists[index], lastPositions: last))
        }
        return SnapshotIndex(snapshotID: cut.snapshotID, files: files, streams: streams)
    }
}
