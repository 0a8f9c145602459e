import ArchiveFormat
import ArchiverCore
import ArchiverServer
import ArgumentParser
import Coordination
import Foundation
import Lode
import LodeS3

/// Turns errors into one line on stderr (what went wrong and the fix) and a documented exit status.
///
/// Exit statuses: 0 ok; 1 failure; 2 wrong expected version or idempotency conflict; 3 another flusher
/// (or compactor) holds the lease; 4 unknown cut point or empty archive; 5 the coordination store's disk is full
/// (ENOSPC), it may not be written (EACCES, read-only) or its server is out of resources; 10 the archive was
/// tampered with; 11 an object is missing or unreadable; 12 a signature key is missing or untrusted; 13 a restore
/// drill failed; 14 `serve`'s last flush at shutdown was cut short or failed; 64 bad command-line usage or configuration; 65 bad data (event JSON, invalid UTF-8, a projected
/// number that overflows), as sysexits' EX_DATAERR.
enum CLIErrors {
    /// Bad command-line usage or configuration (sysexits' EX_USAGE).
    static let usageStatus: Int32 = 64
    /// Bad input data: event JSON, invalid UTF-8, a number that overflows (sysexits' EX_DATAERR).
    static let dataStatus: Int32 = 65

    static func reporting(_ body: () async throws -> Void) async throws {
        do {
            try await body()
        } catch let error as ExitCode {
            throw error
        } catch let error as CleanExit {
            throw error
        } catch let error as ValidationError {
            throw error
        } catch {
            let (message, status) = describe(error)
            FileHandle.standardError.write(Data("error: \(message)\n".utf8))
            throw ExitCode(status)
        }
    }

    static func describe(_ error: any Error) -> (String, Int32) {
        switch error {
        case let e as ArchiverError:
            switch e.code {
            case .flushInProgress, .fenced, .compactionInProgress: return (e.message, 3)
            case .unknownCut, .emptyArchive: return (e.message, 4)
            case .tampered, .objectMismatch, .hotStoreChanged: return (e.message, 10)
            case .unreadable, .missingObject: return (e.message, 11)
            case .missingKey: return (e.message, 12)
            case .invalidArgument, .nothingToFlush, .cutNameTaken: return (e.message, usageStatus)
            case .invalidData: return (e.message, dataStatus)
            default: return (e.message, 1)
            }
        case let e as CoordinationError:
            switch e.code {
            case .wrongExpectedVersion, .idempotencyConflict: return (e.message, 2)
            case .fenced, .leaseHeld: return (e.message, 3)
            case .storageFull, .permissionDenied, .resourcesExhausted: return (e.message, 5)
            case .invalidInput, .eventTooLarge: return (e.message, dataStatus)
            default: return (e.message, 1)
            }
        case let e as LodeError:
            switch e.code {
            case .checksumMismatch, .sizeMismatch, .forkDetected: return (e.message, 10)
            case .notFound, .corruptManifest, .manifestInvalid, .corruptData, .brokenChain: return (e.message, 11)
            case .noSnapshots: return (e.message, 4)
            default: return (e.message, 1)
            }
        case let e as BatchAppendFailure:
            return (e.description, describe(e.cause).1)
        case let e as S3Error:
            return (e.message, 1)
        case let e as ArchiveFormatError:
            return (e.message, e.code == .chainMismatch ? 10 : 11)
        case let e as ConfigError:
            return (e.message, usageStatus)
        default:
            return ("\(error)", 1)
        }
    }
}

/// A one-line progress display on a terminal (events/s, ETA), or a log line every 10 s otherwise.
final class ProgressReporter: @unchecked Sendable {
    private let label: String
    private let enabled: Bool
    private let isTerminal = isatty(STDERR_FILENO) != 0
    private let lock = NSLock()
    private var lastPrint = ContinuousClock.now
    private var printed = false

    init(label: String, quiet: Bool) {
        self.label = label
        self.enabled = !quiet
    }

    func update(done: Int64, total: Int64, seconds: Double) {
        guard enabled else { return }
        lock.lock()
        defer { lock.unlock() }
        let interval: Duration = isTerminal ? .milliseconds(200) : .seconds(10)
        guard ContinuousClock.now - lastPrint >= interval, seconds > 0.5 else { return }
        lastPrint = .now
        let rate = Double(done) / max(seconds, 0.001)
        var text = "\(label): \(done) events, \(Int(rate)) events/s"
        if total > done && rate > 0 {
            text += String(
                format: ", %.0f%%, ETA %.0fs", Double(done) * 100 / Double(total), Double(total - done) / rate)
        }
        if isTerminal {
            FileHandle.standardError.write(Data("\r\u{1B}[2K\(text)".utf8))
            printed = true
        } else {
            FileHandle.standardError.write(Data("\(text)\n".utf8))
        }
    }

    func finish() {
        lock.lock()
        defer { lock.unlock() }
        if printed { FileHandle.standardError.write(Data("\r\u{1B}[2K".utf8)) }
        printed = false
    }
}
