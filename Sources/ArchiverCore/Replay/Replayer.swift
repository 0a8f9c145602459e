import ArchiveFormat
public import Coordination
import Foundation
import Lode

/// Which events a replay delivers to its projection.
public struct ReplayFilter: Sendable, Hashable {
    public var streams: Set<String> = []
    public var categories: Set<String> = []
    public var types: Set<String> = []
    /// Only the streams of this shard (`replay --shard I/N`).
    public var shard: ReplayShard?

    public init(
        streams: Set<String> = [], categories: Set<String> = [], types: Set<String> = [], shard: ReplayShard? = nil
    ) {
        self.streams = streams
        self.categories = categories
        self.types = types
        self.shard = shard
    }

    public var isEmpty: Bool { streams.isEmpty && categories.isEmpty && types.isEmpty && shard == nil }

    /// A stable text form, recorded with aggregate snapshots (a snapshot is reused only for the same filter).
    public var signature: String {
        "streams=\(streams.sorted().joined(separator: ","));categories=\(categories.sorted().joined(separator: ","));"
            + "types=\(types.sorted().joined(separator: ","))" + (shard.map { ";shard=\($0)" } ?? "")
    }

    func matches(stream: String, type: String) -> Bool {
        if !streams.isEmpty && !streams.contains(stream) { return false }
        if !categories.isEmpty && !categories.contains(ArchivePartitioning.category(of: stream)) { return false }
        if !types.isEmpty && !types.contains(type) { return false }
        if let shard, !shard.contains(stream: stream) { return false }
        return true
    }
}

public struct ReplayStats: Sendable {
    public var read = ReadStats()
    /// Events handed to the projection.
    public var applied: Int64 = 0
    public var seconds: Double = 0
    /// Position of the last event the replay covers.
    public var lastPosition: Int64 = 0
}

/// Re-projects a read model from the archive up to a cut point.
///
/// ```swift
/// let plan = try await archive.plan(to: .name("month-end"))
/// var fold = MergePatchFold()
/// let stats = try await Replayer(archive: archive).run(&fold, plan: plan)
/// let rows = try fold.rows()
/// ```
public struct Replayer: Sendable {
    public let archive: Archive
    public var verifyChain = false
    public var filter = ReplayFilter()
    /// Keys for events archived encrypted (crypto-shredding); without one an event's data is shown redacted.
    public var subjectKeys: [String: SubjectKey] = [:]
    /// How many snapshots are fetched, checked and decompressed ahead of the one being applied: the read's
    /// parallelism (each object itself is streamed one chunk ahead), and memory of about this many snapshots.
    public var prefetch = 3

    public init(archive: Archive, verifyChain: Bool = false, filter: ReplayFilter = ReplayFilter()) {
        self.archive = archive
        self.verifyChain = verifyChain
        self.filter = filter
    }

    /// Applies every selected event of `plan` to `projection`, in position order, starting after `after`.
    public func run<P: Projection>(
        _ projection: inout P, plan: ReadPlan, after: Int64 = 0,
        progress: ((Int64, Double) -> Void)? = nil
    ) async throws -> ReplayStats {
        let started = ContinuousClock.now
        var stats = ReplayStats()
        let filter = self.filter
        let subjectKeys = self.subjectKeys
        var reader = ArchiveReader(archive: archive, verifyChain: verifyChain, prefetch: prefetch)
        reader.selector = FileSelector(filter)
        var applied: Int64 = 0
        var nextReport: Int64 = 100_000
        stats.read = try await reader.read(plan, after: after) { line, fields in
            guard
                filter.isEmpty
                    || filter.matches(
                        stream: RecordDecoder.string(line, fields.stream), type: RecordDecoder.string(line, fields.type)
                    )
            else { return }
            let data = UnsafeRawBufferPointer(rebasing: line[fields.data])
            var opened: String? = nil
            if SubjectCipher.isEnvelope(data) {
                opened = try SubjectCipher.open(
                    data, keys: subjectKeys, id: RecordDecoder.string(line, fields.id), position: fields.position)
            }
            func apply(_ data: UnsafeRawBufferPointer) throws {
                let event = ReplayEvent(line: line, fields: fields, data: data)
                do {
                    try projection.apply(event)
                } catch {
                    throw Self.projectionFailure(error, identity: projection.identity, event: event)
                }
            }
            if var opened {
                try opened.withUTF8 { try apply(UnsafeRawBufferPointer($0)) }
            } else {
                try apply(data)
            }
            applied += 1
            if applied >= nextReport {
                nextReport += 100_000
                progress?(applied, Flusher.seconds(since: started))
            }
        }
        stats.applied = applied
        stats.lastPosition = plan.lastPosition
        stats.seconds = Flusher.seconds(since: started)
        return stats
    }

    /// What a replay throws when `identity`'s ``Projection/apply(_:)`` of `event` threw `error`: an
    /// ``ArchiverError`` as it is, anything else as `.projectionFailed` naming the event.
    static func projectionFailure(_ error: any Error, identity: ProjectionIdentity, event: ReplayEvent) -> any Error {
        if let error = error as? ArchiverError { return error }
        return ArchiverError(
            .projectionFailed,
            "projection \(identity) failed at position \(event.position) (stream \(event.stream)): \(error)")
    }
}
