import Basics
public import Coordination
import Foundation

/// Appends a JSON-lines batch (one event object per line, each naming its stream) to a coordination store: the
/// use case behind `archiver append` with events on stdin, usable for any body of such lines.
///
/// The unit of atomicity for bad data is the whole input: every line is checked (UTF-8, JSON, the store's
/// append rules) before the first commit, so a bad line appends nothing and running the fixed input again
/// appends every event once. The events are then committed in order in transactions of `batchSize`, one in
/// flight while the next is parsed; a store failure during that phase (connection lost, disk full) stops at
/// the transaction that failed, and ``BatchAppendFailure`` names the first line not appended.
///
/// ```swift
/// let appender = try BatchAppender(store: store, batchSize: 500)
/// let summary = try await appender.append(Array(body))
/// print(summary.events, summary.streams)
/// ```
public struct BatchAppender: Sendable {
    public struct Summary: Sendable, Hashable {
        public var events: Int
        public var streams: Int
        public var seconds: Double
    }

    public let store: any CoordinationStore
    public let batchSize: Int
    public let limits: AppendLimits
    /// Names the input in messages: "stdin line 4: …".
    public let source: String

    /// - Throws: ``ArchiverError`` `.invalidArgument` when `batchSize` is below 1.
    public init(
        store: any CoordinationStore, batchSize: Int = 500, limits: AppendLimits = AppendLimits(),
        source: String = "stdin"
    ) throws {
        guard batchSize >= 1 else { throw ArchiverError(.invalidArgument, "--batch-size must be at least 1") }
        self.store = store
        self.batchSize = batchSize
        self.limits = limits
        self.source = source
    }

    /// Checks every line of `input`, then appends its events in order.
    /// - Throws: ``ArchiverError`` `.invalidData` naming the first bad line (nothing appended), or
    ///   ``BatchAppendFailure`` when the store fails during the commits.
    public func append(_ input: [UInt8]) async throws -> Summary {
        let started = ContinuousClock.now
        try check(input)
        var commits = PipelinedCommits(store: store, source: source, single: batchSize == 1)
        var streams = Set<String>()
        // Lines are parsed again here rather than kept from the check: the input's bytes are smaller than the
        // parsed events, and parsing costs well under a microsecond a line.
        var batch = PipelinedCommits.Batch()
        for (number, range) in EventLine.Lines(input) {
            let line = try EventLine(input, range)
            streams.insert(line.stream)
            batch.add(line, number: number)
            if batch.count >= batchSize {
                try await commits.send(batch)
                batch = PipelinedCommits.Batch()
            }
        }
        if batch.count > 0 { try await commits.send(batch) }
        try await commits.settle()
        let elapsed = ContinuousClock.now - started
        return Summary(
            events: commits.appended, streams: streams.count,
            seconds: elapsed.inSeconds)
    }

    /// The check before the first commit: every line, or nothing is appended.
    /// - Throws: ``ArchiverError`` `.invalidData` naming the first bad line.
    public func check(_ input: [UInt8]) throws {
        for (number, range) in EventLine.Lines(input) {
            do {
                try EventLine(input, range).validate(limits: limits)
            } catch let fault as EventLine.Fault {
                throw ArchiverError(
                    .invalidData,
                    "\(source) line \(number): \(fault.description); nothing was appended (every line is checked "
                        + "before the first commit): fix the line and send the whole input again")
            }
        }
    }
}

/// A store failure while a batch's checked events were being committed.
public struct BatchAppendFailure: Error, CustomStringConvertible {
    /// The 1-based input lines of the transaction that failed; no line from its first on was appended.
    public var lines: ClosedRange<Int>
    /// Events committed before the failure (all of them from lines before `lines`).
    public var appendedBefore: Int
    public var source: String
    /// The store's error.
    public var cause: any Error

    public var description: String {
        "\(source) line \(lines.lowerBound)...\(lines.upperBound) not appended: \(Self.message(of: cause)); the "
            + "\(appendedBefore) events before them were appended: send the input from line \(lines.lowerBound) again"
    }

    static func message(of error: any Error) -> String {
        switch error {
        case let e as CoordinationError: e.message
        case let e as ArchiverError: e.message
        default: "\(error)"
        }
    }
}
