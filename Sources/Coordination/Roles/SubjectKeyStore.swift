/// Per-subject data keys for crypto-shredding (the right to erasure).
///
/// ```swift
/// let key = try await keys.subjectKey("customer-7", create: true)
/// let result = try await keys.forgetSubject("customer-7", metadataField: "subject", redactedData: "{}")
/// ```
public protocol SubjectKeyStore: Sendable {
    /// The data key of `subject`. With `create`, a missing key is made (32 random bytes) and stored; a
    /// forgotten subject stays forgotten.
    /// - Returns: nil when the subject has no key and `create` is false.
    func subjectKey(_ subject: String, create: Bool) async throws -> SubjectKey?

    /// Every subject's key or tombstone (replay and export load them once).
    func subjectKeys() async throws -> [String: SubjectKey]

    /// Destroys the subject's key (a tombstone stays, so later flushes redact the subject's events) and, with
    /// `metadataField`, replaces `data` of the hot events whose metadata names the subject with
    /// `redactedData`. Refuses while a flush intent is pending (its events must archive as recorded):
    /// ``StoreRules/flushInProgress()``.
    func forgetSubject(
        _ subject: String, metadataField: String?, redactedData: String
    ) async throws
        -> ForgetResult
}
