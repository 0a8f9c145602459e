import ArchiveFormat
import Coordination
import Lode

/// What a cold read selects: a position window, a file selector and a record filter.
struct ColdQuery: Sendable {
    var after: Int64
    var through: Int64
    var limit: Int
    var selector: FileSelector?
    /// Only records of the stream with this ``StreamHash`` can match (a check before decoding the record).
    var streamHash: UInt64?
    /// The one stream the read selects (a stream read), whose first read scans frames (``StreamFrameScan``).
    var stream: String?
    /// Whether an event is one the read returns.
    var matches: @Sendable (RecordedEvent) -> Bool = { _ in true }
}

/// Thrown by a record callback to end a read early once it has what it needs.
struct EnoughRecords: Error {}

extension ColdEventSource {
    /// Walks the plan's snapshots after `query.after` and gathers the matching events, snapshot by snapshot.
    func collect(_ query: ColdQuery, plan: ReadPlan) async throws -> [RecordedEvent] {
        var queue = ReadQueue(plan: plan, after: query.after, verifyChain: false, selector: query.selector)
        defer { queue.cancel() }
        var out: [RecordedEvent] = []
        var previous: CutPoint?
        while out.count < query.limit, let unit = try await queue.peek() {
            queue.take()
            if unit.cut.facts.firstPosition > query.through { break }
            if let previous, unit.only == nil, query.selector == nil,
                unit.cut.facts.chainStart != previous.facts.chainHead
            {
                throw ArchiverError(
                    .tampered,
                    "archive integrity: snapshot \(unit.cut.snapshotID) does not continue the hash chain of snapshot "
                        + "\(previous.snapshotID): a snapshot was removed, replaced or reordered; run `archiver verify`"
                )
            }
            previous = unit.cut
            try await gather(unit, query, into: &out)
            if unit.cut.facts.lastPosition >= query.through { break }
        }
        // A catch-up that filled its page reads on into the next snapshot: its index is built while the reader
        // takes this page.
        if query.selector == nil, query.streamHash == nil, out.count >= query.limit,
            let next = try? await queue.peek(), next.cut.facts.firstPosition <= query.through, cachedIndex(next) == nil
        {
            indexBuild(next)
        }
        return out
    }

    /// Adds the matching events of one snapshot: through its ``SnapshotIndex`` (cached, or built and cached);
    /// or, for a snapshot that cannot be indexed, from the decoded-events cache, or decoded whole and cached, or
    /// (too big to cache) streamed until the read has enough.
    private func gather(_ unit: ReadQueue.Unit, _ query: ColdQuery, into out: inout [RecordedEvent]) async throws {
        if let stream = query.stream, cachedIndex(unit) == nil,
            let found = try await scanFrames(unit, stream: stream, query)
        {
            out += found.prefix(query.limit - out.count)
            return
        }
        if let (index, files) = try await openIndex(unit) {
            if let hash = query.streamHash {
                try gatherStream(index, hash: hash, query, into: &out)
            } else {
                try await gatherPage(index, files: files, query, into: &out)
            }
            return
        }
        let key = unit.cut.snapshotID + (unit.only.map { "#" + $0.map(String.init).joined(separator: ",") } ?? "")
        // Decoded events take about five times their zstd-compressed bytes.
        let cacheable = cache.admits(estimatedBytes: unit.size * 5)
        var events: [RecordedEvent]
        if let cached = cache.events(key) {
            observer?.cacheHit()
            events = cached
        } else if cacheable {
            observer?.cacheMiss(storedBytes: unit.size)
            events = []
            try await read(unit, query.selector, after: 0) { line, fields in
                events.append(Self.event(line, fields))
            }
            cache.insert(key, events)
            observer?.cacheBytes(cache.bytes)
        } else {
            observer?.cacheMiss(storedBytes: unit.size)
            let wanted = query.limit - out.count
            var found: [RecordedEvent] = []
            do {
                try await read(unit, query.selector, after: query.after) { line, fields in
                    try Self.collect(line, fields, query, into: &found, wanted: wanted)
                }
            } catch is EnoughRecords {}
            out += found
            return
        }
        for event in events where event.position > query.after && event.position <= query.through {
            guard query.matches(event) else { continue }
            out.append(event)
            if out.count == query.limit { return }
        }
    }

    /// Reads one snapshot (the files of `unit`), each object checked against its manifest's MD5 and, when the
    /// snapshot is read whole, its hash chain recomputed.
    private func read(
        _ unit: ReadQueue.Unit, _ selector: FileSelector?, after: Int64,
        _ body: (UnsafeRawBufferPointer, RecordFields) throws -> Void
    ) async throws {
        var reader = ArchiveReader(archive: archive, prefetch: 1)
        reader.verifySnapshotChains = true
        reader.selector = unit.only == nil ? nil : selector
        let single = ReadPlan(cuts: [unit.cut], maxPosition: nil, maxRecordedAt: nil, selector: .latest)
        _ = try await reader.read(single, after: after, body)
    }

    /// Adds the event on `line` to `found` when `query` selects it.
    /// - Throws: ``EnoughRecords`` past the query's last position or once `wanted` events are found.
    static func collect(
        _ line: UnsafeRawBufferPointer, _ fields: RecordFields, _ query: ColdQuery,
        into found: inout [RecordedEvent], wanted: Int
    ) throws {
        if fields.position <= query.after { return }
        if fields.position > query.through { throw EnoughRecords() }
        if let hash = query.streamHash, fields.streamHash != hash { return }
        let event = Self.event(line, fields)
        guard query.matches(event) else { return }
        found.append(event)
        if found.count == wanted { throw EnoughRecords() }
    }

    /// The event a record line holds, as the hot store returns it (data still sealed when it was encrypted).
    static func event(_ line: UnsafeRawBufferPointer, _ fields: RecordFields) -> RecordedEvent {
        RecordedEvent(
            position: fields.position, stream: RecordDecoder.string(line, fields.stream), version: fields.version,
            id: RecordDecoder.string(line, fields.id), type: RecordDecoder.string(line, fields.type),
            data: String(decoding: UnsafeRawBufferPointer(rebasing: line[fields.data]), as: UTF8.self),
            metadata: String(decoding: UnsafeRawBufferPointer(rebasing: line[fields.metadata]), as: UTF8.self),
            recordedAtNanos: fields.recordedAtNanos)
    }

    /// Replaces sealed data with its plaintext, or with the redaction replay shows.
    func openEncrypted(_ events: inout [RecordedEvent]) async throws {
        var keyCache: [String: SubjectKey] = [:]
        for i in events.indices {
            var data = events[i].data
            let envelope = data.withUTF8 { SubjectCipher.isEnvelope(UnsafeRawBufferPointer($0)) }
            guard envelope else { continue }
            let subject = data.withUTF8 { SubjectCipher.subject(of: UnsafeRawBufferPointer($0)) }
            if let subject, keyCache[subject] == nil, let keys,
                let key = try await keys.subjectKey(subject, create: false)
            {
                keyCache[subject] = key
            }
            events[i].data = try data.withUTF8 {
                try SubjectCipher.open(
                    UnsafeRawBufferPointer($0), keys: keyCache, id: events[i].id, position: events[i].position)
            }
        }
    }
}
