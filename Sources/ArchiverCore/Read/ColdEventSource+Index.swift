import ArchiveFormat
import Coordination
import Lode
import Synchronization

extension ColdEventSource {
    /// The open snapshot of `unit`, from the cache or built (and cached), with the indices (into its
    /// ``SnapshotIndex/files``) of the objects the unit reads; nil when it cannot be indexed or would not fit
    /// under the cache's cap (the caller then streams the snapshot).
    ///
    /// A unit that reads some objects only (a stream or category read) uses the whole snapshot's index when one
    /// is cached, and otherwise an index of just those objects: it never fetches objects it does not read.
    func openIndex(_ unit: ReadQueue.Unit) async throws -> (index: SnapshotIndex, files: [Int])? {
        if let cached = cachedIndex(unit) {
            observer?.cacheHit()
            return cached
        }
        guard let build = indexBuild(unit), let index = try await build.value else { return nil }
        return (index, Array(index.files.indices))
    }

    /// The cached open snapshot of `unit` (see ``openIndex(_:)``), or nil.
    func cachedIndex(_ unit: ReadQueue.Unit) -> (index: SnapshotIndex, files: [Int])? {
        let wholeKey = "index:" + unit.cut.snapshotID
        if let index = cache.index(wholeKey) { return (index, unit.only ?? Array(index.files.indices)) }
        if let index = cache.index(Self.indexKey(unit)) { return (index, Array(index.files.indices)) }
        return nil
    }

    private static func indexKey(_ unit: ReadQueue.Unit) -> String {
        "index:" + unit.cut.snapshotID + (unit.only.map { "#" + $0.map(String.init).joined(separator: ",") } ?? "")
    }

    /// The build of `unit`'s index under way, or a new one, which caches the index it builds; nil when the unit
    /// cannot be indexed or its index would not fit under the cache's cap. Readers that start together
    /// (subscribers from 0) wait for one build instead of each making one.
    @discardableResult
    func indexBuild(_ unit: ReadQueue.Unit) -> Task<SnapshotIndex?, any Error>? {
        let cut = unit.cut
        guard SnapshotIndex.estimatedBytes(cut, files: unit.only) <= cache.capacityBytes,
            !unindexable.withLock({ $0.contains(cut.snapshotID) })
        else { return nil }
        let key = Self.indexKey(unit)
        let (build, started) = indexBuilds.withLock { builds in
            if let running = builds[key] { return (running, false) }
            let build = Task { [self, only = unit.only] () throws -> SnapshotIndex? in
                // Only this task removes its entry, after it was added (under the same lock).
                defer { indexBuilds.withLock { $0[key] = nil } }
                guard let index = try await SnapshotIndex.build(cut, only: only, archive: archive) else {
                    unindexable.withLock { _ = $0.insert(cut.snapshotID) }
                    return nil
                }
                cache.insert(key, index)
                observer?.cacheBytes(cache.bytes)
                return index
            }
            builds[key] = build
            return (build, true)
        }
        if started { observer?.cacheMiss(storedBytes: unit.size) }
        return build
    }

    /// Waits for the index builds under way (those a stream read started after answering from the frames).
    func indexBuildsFinished() async {
        for build in indexBuilds.withLock({ Array($0.values) }) { _ = try? await build.value }
    }

    /// The events of the stream of a format 2 snapshot that `query` selects, read from its frames
    /// (``StreamFrameScan``) when the snapshot has no cached index; nil when it has no frame index. The index
    /// that later reads of the snapshot use is then built off the request path.
    func scanFrames(_ unit: ReadQueue.Unit, stream: String, _ query: ColdQuery) async throws -> [RecordedEvent]? {
        let files = unit.only ?? Array(unit.cut.manifest.files.indices)
        let accept: @Sendable (RecordedEvent) -> Bool = { [query] event in
            event.position > query.after && event.position <= query.through && query.matches(event)
        }
        guard
            let found = try await StreamFrameScan(stream: stream).read(
                unit.cut, files: files, archive: archive, accept: accept)
        else { return nil }
        indexBuild(unit)
        return found
    }

    /// Adds the events of `query` from the objects `files` of an open snapshot, each decoded from the frame that
    /// holds its first record above `query.after` to the frame that holds the last record the page can need.
    func gatherPage(
        _ index: SnapshotIndex, files: [Int], _ query: ColdQuery, into out: inout [RecordedEvent]
    ) async throws {
        let filtered = query.selector != nil || query.streamHash != nil
        var after = query.after
        while out.count < query.limit {
            // An unfiltered page of n events ends by `after + n` (positions have no gaps within a snapshot, and
            // where they have, the next round reads on).
            let last = filtered ? query.through : min(query.through, after + Int64(query.limit - out.count))
            let pipelines = files.compactMap { file in
                index.feed(file: file, after: after, through: last).map(ChunkPipeline.init(feed:))
            }
            if pipelines.isEmpty { return }
            var bounded = query
            (bounded.after, bounded.through) = (after, last)
            try await merge(pipelines, bounded, wanted: query.limit - out.count, into: &out)
            if last >= query.through { return }
            after = last
        }
    }

    /// Adds the events of `query` the pipelines hold, merged by position, at most `wanted`.
    private func merge(
        _ pipelines: [ChunkPipeline], _ query: ColdQuery, wanted: Int, into out: inout [RecordedEvent]
    ) async throws {
        var found: [RecordedEvent] = []
        found.reserveCapacity(min(wanted, 10_000))
        do {
            try await ChunkMerger.forEachSitedLine(pipelines) { line, fields, _ in
                try Self.collect(line, fields, query, into: &found, wanted: wanted)
            }
        } catch is EnoughRecords {}
        out += found
    }

    /// Adds the events of the stream `hash` names from an open snapshot: only the lines its stream index lists,
    /// from the frames that hold them (decompressed frames are cached, so a stream read again decodes nothing).
    func gatherStream(
        _ index: SnapshotIndex, hash: UInt64, _ query: ColdQuery, into out: inout [RecordedEvent]
    ) throws {
        guard let refs = index.lines(of: hash) else { return }
        var found: [RecordedEvent] = []
        var frame: (file: UInt32, frame: UInt32, storage: ChunkStorage)?
        for ref in refs {
            if frame == nil || frame!.file != ref.file || frame!.frame != ref.frame {
                frame = (ref.file, ref.frame, try decodedFrame(index, file: Int(ref.file), frame: Int(ref.frame)))
            }
            let storage = frame!.storage
            try withExtendedLifetime(storage) {
                let start = Int(ref.start)
                let line = UnsafeRawBufferPointer(rebasing: storage.bytes[start..<(start + Int(ref.count))])
                let fields = try RecordDecoder.decode(line)
                guard fields.position > query.after, fields.position <= query.through else { return }
                let event = Self.event(line, fields)
                if query.matches(event) { found.append(event) }
            }
        }
        // One stream sits in one category partition, but a snapshot may split a partition into several objects.
        if index.files.count > 1 { found.sort { $0.position < $1.position } }
        out += found.prefix(query.limit - out.count)
    }

    /// One frame's content, from the cache or decompressed (and cached).
    func decodedFrame(_ index: SnapshotIndex, file: Int, frame: Int) throws -> ChunkStorage {
        let key = "frame:\(index.snapshotID):\(index.files[file].path):\(frame)"
        if let cached = cache.frame(key) { return cached }
        let storage = try index.decode(file: file, frame: frame)
        cache.insert(key, storage)
        return storage
    }
}
