import Foundation

/// Which projection a replay runs, from its text form: `fold`, `sum:FIELD`, or a command for `--exec`.
///
/// ```swift
/// let spec = try ProjectionSpec(projection: "sum:amount", exec: nil)  // .sum(field: "amount")
/// ```
public enum ProjectionSpec: Sendable, Hashable, CustomStringConvertible {
    /// ``MergePatchFold``.
    case fold
    /// ``FieldSumFold`` of `data.FIELD`.
    case sum(field: String)
    /// ``ExecProjection``: a program reading events as JSON lines (docs/REPLAY.md).
    case exec(command: String)

    /// The built-in projection `projection` names, or the program `exec` names when it is given.
    /// - Throws: ``ArchiverError`` `.invalidArgument` for text that is neither `fold` nor `sum:FIELD`.
    public init(projection: String, exec: String?) throws {
        if let exec {
            guard !exec.trimmingCharacters(in: .whitespaces).isEmpty else {
                throw ArchiverError(.invalidArgument, "--exec needs a command, e.g. --exec 'python3 project.py'")
            }
            self = .exec(command: exec)
        } else {
            self = try ProjectionSpec(parsing: projection)
        }
    }

    /// A built-in projection's text form: `fold` or `sum:FIELD`.
    /// - Throws: ``ArchiverError`` `.invalidArgument` for anything else.
    public init(parsing text: String) throws {
        if text == "fold" {
            self = .fold
        } else if text.hasPrefix("sum:"), text.count > 4 {
            self = .sum(field: String(text.dropFirst(4)))
        } else {
            throw ArchiverError(.invalidArgument, "--projection '\(text)' is not fold or sum:FIELD")
        }
    }

    /// True for the built-in projections, whose state can be saved and restored as an aggregate snapshot.
    public var supportsAggregateSnapshots: Bool {
        if case .exec = self { return false }
        return true
    }

    public var description: String {
        switch self {
        case .fold: "fold"
        case .sum(let field): "sum:\(field)"
        case .exec(let command): "exec \(command)"
        }
    }
}
