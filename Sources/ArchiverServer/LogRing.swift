import Foundation
import Logging
import Synchronization

/// The server's recent warnings and errors (flush and drill failures, refused requests), kept in memory for
/// the console's log page. Messages and metadata are redacted before they are stored: the log already keeps
/// tokens and payloads out, and the ring masks anything that still looks like a secret.
final class LogRing: Sendable {
    struct Entry: Sendable, Hashable {
        var time: Date
        var level: Logger.Level
        var message: String
        /// `key=value` pairs, sorted by key, redacted.
        var details: String
    }

    let capacity: Int
    private let entries: Mutex<[Entry]>

    init(capacity: Int = 200) {
        self.capacity = capacity
        entries = Mutex([])
    }

    /// Stores one entry (redacted), dropping the oldest beyond the capacity.
    func record(_ message: String, level: Logger.Level = .warning, metadata: Logger.Metadata = [:]) {
        let details = metadata.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " ")
        let entry = Entry(
            time: Date(), level: level, message: Self.redact(message), details: Self.redact(details))
        entries.withLock { entries in
            entries.append(entry)
            if entries.count > capacity { entries.removeFirst(entries.count - capacity) }
        }
    }

    /// Newest first.
    var recent: [Entry] { entries.withLock { $0.reversed() } }

    /// `logger` writing also into this ring (warnings and above).
    func tee(_ logger: Logger) -> Logger {
        let handlers: [any LogHandler] = [logger.handler, LogRingHandler(ring: self)]
        return Logger(label: logger.label) { _ in MultiplexLogHandler(handlers) }
    }

    /// Masks API tokens (`arch_…`), bearer credentials, passwords in URLs (`scheme://user:secret@`) and
    /// `password=`/`secret=`/`token=` values.
    static func redact(_ text: String) -> String {
        var text = text
        let rules: [(String, String)] = [
            (#"arch_[0-9A-Za-z]+"#, "arch_[redacted]"),
            (#"(?i)bearer\s+[^\s,;"]+"#, "Bearer [redacted]"),
            (#"://[^/\s:@]+:[^@\s/]+@"#, "://[redacted]@"),
            (#"(?i)(password|passwd|secret|token|sig|signature|x-amz-credential)=[^&\s"]+"#, "$1=[redacted]"),
        ]
        for (pattern, replacement) in rules {
            guard let regex = try? NSRegularExpression(pattern: pattern) else { continue }
            text = regex.stringByReplacingMatches(
                in: text, range: NSRange(text.startIndex..., in: text), withTemplate: replacement)
        }
        return text
    }
}

/// Copies warnings and errors into a ``LogRing``; the other handler of the multiplex still writes the log.
struct LogRingHandler: LogHandler {
    let ring: LogRing
    var metadata: Logger.Metadata = [:]
    var logLevel: Logger.Level = .warning

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        // The multiplex may lower every handler's level; the ring still keeps only warnings and above.
        guard event.level >= .warning else { return }
        ring.record(
            "\(event.message)", level: event.level, metadata: metadata.merging(event.metadata ?? [:]) { _, new in new })
    }
}
