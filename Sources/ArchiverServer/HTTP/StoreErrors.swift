import ArchiveFormat
import ArchiverCore
import Coordination
import HTTPTypes
import Lode

/// How errors of the store and the archive become HTTP answers (docs/HTTP.md lists them).
enum StoreErrors {
    /// Store errors: 409 conflict, 422 invalid input, 413 too large, 410 pruned, 503 unavailable, 507 store
    /// disk full.
    static func apiError(_ error: CoordinationError) -> APIError {
        switch error.code {
        case .wrongExpectedVersion:
            return APIError(
                .conflict, "wrong-expected-version", error.message,
                details: .init(actualVersion: error.actualVersion ?? 0, stream: error.stream))
        case .idempotencyConflict:
            return APIError(.unprocessableContent, "idempotency-key-reused", error.message)
        case .invalidInput:
            return APIError(.unprocessableContent, "invalid-input", error.message)
        case .eventTooLarge:
            return APIError(.contentTooLarge, "event-too-large", error.message)
        case .prunedRange:
            return APIError(.gone, "pruned", error.message)
        case .busy, .connectionFailed, .closed:
            return APIError(.serviceUnavailable, "store-unavailable", error.message)
        case .storageFull:
            return APIError(.init(code: 507), "store-full", error.message)
        case .permissionDenied, .resourcesExhausted:
            return APIError(.serviceUnavailable, "store-unavailable", error.message)
        default:
            return APIError(.internalServerError, "\(error.code)", error.message)
        }
    }

    /// Errors of a read through the archive (``TieredEventReader``): altered or missing archived events are a 500
    /// `archive-integrity` naming the object or the positions; nil for other errors.
    static func apiError(read error: any Error) -> APIError? {
        switch error {
        case let error as ArchiverError:
            APIError(.internalServerError, "archive-integrity", error.message)
        case let error as LodeError:
            APIError(.internalServerError, "archive-integrity", error.message)
        case let error as ArchiveFormatError:
            APIError(.internalServerError, "archive-integrity", error.message)
        default:
            nil
        }
    }

    /// Flush errors: 409 when another replica flushes, a named cut has nothing to name or its name is taken, 500
    /// otherwise.
    static func apiError(flush error: any Error) -> APIError {
        switch error {
        case let error as ArchiverError where error.code == .flushInProgress:
            APIError(.conflict, "lease-held", error.message)
        case let error as ArchiverError where error.code == .nothingToFlush:
            APIError(.conflict, "nothing-to-flush", error.message)
        case let error as ArchiverError where error.code == .cutNameTaken:
            APIError(.conflict, "cut-name-taken", error.message)
        case let error as ArchiverError:
            APIError(.internalServerError, "\(error.code)", error.message)
        case let error as CoordinationError:
            apiError(error)
        default:
            APIError(.internalServerError, "flush-failed", FlushCoordinator.describe(error))
        }
    }
}
