public import Coordination
import Foundation
import RawJSON

/// One line of a JSON-lines batch: `{"stream":…,"type":…,"data":…,"metadata":…,"id":…}`, data and metadata
/// kept byte for byte.
public struct EventLine: Sendable {
    public var stream: String
    public var event: ProposedEvent

    /// Parses and checks one line: UTF-8, the event object, and every limit the store applies.
    /// - Throws: ``EventLine/Fault`` naming what is wrong (without the line number, which the caller knows).
    public init(_ bytes: UnsafeRawBufferPointer) throws {
        if let index = UTF8Validation.firstInvalidIndex(bytes) {
            throw Fault(
                description: "invalid UTF-8 at byte offset \(index) of the line (events are stored byte "
                    + "for byte, so they must be sent as UTF-8)")
        }
        let parsed: (stream: String?, event: ProposedEvent)
        do {
            parsed = try EventJSON.parseEvent(bytes)
        } catch let error as CoordinationError {
            throw Fault(description: error.message)
        }
        guard let stream = parsed.stream else { throw Fault(description: "missing \"stream\" (a string)") }
        self.stream = stream
        self.event = parsed.event
    }

    /// Also applies the store's append rules (names, sizes, JSON of data and metadata, ids), so that a line the
    /// store would refuse is found before anything is committed.
    public func validate(limits: AppendLimits) throws {
        do {
            // A placeholder id for an event without one: validation would otherwise draw a random id (a
            // getrandom call) that is thrown away, the store drawing the real one at the commit.
            var event = self.event
            if event.id == nil { event.id = "00000000-0000-4000-8000-000000000000" }
            let request = AppendRequest(stream: stream, expected: .any, events: [event])
            _ = try AppendValidation.validate(request, limits: limits)
        } catch let error as CoordinationError {
            throw Fault(description: error.message)
        }
    }

    /// What is wrong with one line.
    public struct Fault: Error, CustomStringConvertible {
        public var description: String
    }

    /// The 1-based number and byte range of every line of `input` that is not blank (a final line needs no
    /// newline; a `\r` before the newline is not part of the line).
    public struct Lines: Sequence, IteratorProtocol {
        let input: [UInt8]
        var start = 0
        var number = 0

        public init(_ input: [UInt8]) {
            self.input = input
        }

        public mutating func next() -> (number: Int, range: Range<Int>)? {
            input.withUnsafeBytes { bytes in
                while start < bytes.count {
                    number += 1
                    let lineStart = start
                    // memchr: this scan runs twice over every byte of a batch (the check, then the commits).
                    let newline = memchr(bytes.baseAddress! + lineStart, 0x0A, bytes.count - lineStart)
                    var end = newline.map { bytes.baseAddress!.distance(to: UnsafeRawPointer($0)) } ?? bytes.count
                    start = end + 1
                    if end > lineStart, bytes[end - 1] == 0x0D { end -= 1 }
                    var index = lineStart
                    while index < end, bytes[index] == 0x20 || bytes[index] == 0x09 || bytes[index] == 0x0D {
                        index += 1
                    }
                    if index < end { return (number, lineStart..<end) }
                }
                return nil
            }
        }
    }

    /// Parses the line at `range` of `input`.
    public init(_ input: [UInt8], _ range: Range<Int>) throws {
        self = try input.withUnsafeBytes { try EventLine(UnsafeRawBufferPointer(rebasing: $0[range])) }
    }
}
