import Foundation
import Lode
import NIOCore
import NIOHTTP1

extension S3Store {
    public func put(_ key: String, _ bytes: [UInt8]) async throws {
        let full = try writableKey(key)
        try await createObject(key: key, full: full, body: ByteBuffer(bytes: bytes))
    }

    public func compareAndSwap(_ key: String, expected: String, replacement: String) async throws {
        let full = try bucketKey(key)
        let current = try await currentObject(full)
        func conflict(_ found: [UInt8]?) -> LodeError {
            let actual = found.map { String(decoding: $0, as: UTF8.self) }
            return LodeError(
                .snapshotConflict,
                "'\(key)' holds \(actual.map { "'\($0)'" } ?? "nothing"), not the expected '\(expected)': another "
                    + "writer committed; re-resolve the parent and retry", key: key, expected: expected, actual: actual)
        }
        let condition: WriteCondition
        switch current {
        case nil where expected.isEmpty:
            condition = .absent
        case let (bytes, etag)? where bytes.elementsEqual(expected.utf8):
            condition = .matches(etag: etag)
        default:
            throw conflict(current?.bytes)
        }
        let outcome = try await conditionalWrite(
            key: key, full: full, body: ByteBuffer(string: replacement), condition: condition)
        if outcome == .preconditionFailed {
            throw conflict(try await currentObject(full)?.bytes)
        }
    }

    // MARK: - Internals

    /// What a conditional write requires of the key.
    enum WriteCondition: Sendable, Equatable {
        /// `If-None-Match: *`: the key must not exist.
        case absent
        /// `If-Match: <etag>`: the key must still hold the object with this ETag.
        case matches(etag: String)
    }

    enum WriteOutcome: Sendable, Equatable {
        case written
        case preconditionFailed
    }

    /// A key that may be written: valid and not a reserved temporary name.
    func writableKey(_ key: String) throws(LodeError) -> String {
        let full = try bucketKey(key)
        if Self.isReservedName(key) {
            throw LodeError(
                .invalidPath, "invalid key '\(key)': names starting with '.lode-put-' or '.lode-cas-' are reserved",
                key: key)
        }
        return full
    }

    /// Create-only `PutObject` of `body`: ``LodeError/Code/pathExists`` when the key exists.
    func createObject(key: String, full: String, body: ByteBuffer) async throws {
        if try await conditionalWrite(key: key, full: full, body: body, condition: .absent) == .preconditionFailed {
            throw LodeError(
                .pathExists, "object '\(key)' already exists; objects are create-only and the first one was kept",
                key: key)
        }
    }

    /// The object's bytes and ETag, or `nil` when it is missing.
    func currentObject(_ full: String) async throws -> (bytes: [UInt8], etag: String)? {
        let response = try await client.send(S3Request(.GET, key: full), limit: Int.max)
        switch response.status {
        case 200:
            guard let etag = response.header("ETag") else {
                throw S3Error(.invalidResponse, "GET \(client.location(full)) answered without an ETag")
            }
            return (response.body, etag)
        case 404:
            if S3Responses.ErrorBody.parse(response.body)?.code == "NoSuchBucket" {
                throw client.failure(response, key: full, action: "GET")
            }
            return nil
        default:
            throw client.failure(response, key: full, action: "GET")
        }
    }

    /// The headers every new object gets: content type, server-side encryption, Object Lock retention.
    func objectHeaders(now: Date = Date()) -> [(name: String, value: String)] {
        var headers: [(name: String, value: String)] = [("Content-Type", "application/octet-stream")]
        switch configuration.serverSideEncryption {
        case .aes256?:
            headers.append(("x-amz-server-side-encryption", "AES256"))
        case .kms(let keyID)?:
            headers.append(("x-amz-server-side-encryption", "aws:kms"))
            if let keyID { headers.append(("x-amz-server-side-encryption-aws-kms-key-id", keyID)) }
        case nil:
            break
        }
        if let lock = configuration.objectLock {
            let until = now.addingTimeInterval(Double(lock.days) * 86_400)
            headers.append(("x-amz-object-lock-mode", lock.mode.rawValue))
            headers.append(("x-amz-object-lock-retain-until-date", Self.iso8601(until)))
        }
        return headers
    }

    /// A `PutObject` under `condition`, safe to retry: every attempt carries the same random put ID, and after an
    /// ambiguous failure (the request may have been applied) the store HEADs the key: if it holds our put ID the
    /// write happened; otherwise it is re-sent, and the condition still guards it.
    func conditionalWrite(
        key: String, full: String, body: ByteBuffer, condition: WriteCondition
    ) async throws
        -> WriteOutcome
    {
        let mode = try await conditionalWriteMode()
        let putID = Self.randomPutID()
        var headers = objectHeaders()
        headers.append(("Content-MD5", S3Client.md5Base64(body)))
        headers.append(("x-amz-meta-lode-put-id", putID))
        if mode == .emulate {
            // No conditional headers: check, then write. Safe only with a single writer (documented).
            let current = try await headObject(full)
            switch condition {
            case .absent where current != nil: return .preconditionFailed
            case .matches(let etag) where current?.header("ETag") != etag: return .preconditionFailed
            default: break
            }
        } else {
            switch condition {
            case .absent: headers.append(("If-None-Match", "*"))
            case .matches(let etag): headers.append(("If-Match", etag))
            }
        }
        let request = S3Request(.PUT, key: full, headers: headers, body: body)
        return try await sendConditional(request, full: full, putID: putID)
    }

    /// Sends a conditional write (PutObject or CompleteMultipartUpload) with the look-before-retry rule.
    func sendConditional(
        _ request: S3Request, full: String, putID: String,
        interpret: @Sendable (S3Response) throws -> S3Response = { $0 }
    ) async throws -> WriteOutcome {
        var attempt = 1
        var ambiguous = false
        while true {
            if ambiguous, try await holdsPutID(full, putID) { return .written }
            let failure: S3Error
            do {
                let response = try interpret(try await client.sendOnce(request))
                switch response.status {
                case 200: return .written
                case 412: return .preconditionFailed
                case 409:
                    // ConditionalRequestConflict: another conditional write to the key was in flight. Ours was not
                    // applied; try again.
                    failure = client.failure(response, key: full, action: request.method.rawValue)
                    ambiguous = false
                default:
                    let error = client.failure(response, key: full, action: request.method.rawValue)
                    guard S3Client.isTransient(response) else { throw error }
                    failure = error
                    ambiguous = true
                }
            } catch let error as S3Error where error.isTransient {
                failure = error
                // A refused connection never reached the server; anything else may have been applied.
                ambiguous = ambiguous || error.code != .unreachable
            }
            guard attempt < configuration.retry.maxAttempts else { throw failure }
            try await client.backoff(after: attempt)
            attempt += 1
        }
    }

    /// Whether the object at `full` carries `putID` (our write landed).
    func holdsPutID(_ full: String, _ putID: String) async throws -> Bool {
        guard let response = try await headObject(full) else { return false }
        return response.header("x-amz-meta-lode-put-id") == putID
    }

    /// The effective conditional-write mode, probing the server once when asked to.
    func conditionalWriteMode() async throws -> S3Configuration.ConditionalWrites {
        switch configuration.conditionalWrites {
        case .assume, .emulate: return configuration.conditionalWrites
        case .probe:
            let store = self
            let supported = try await probe.supported { try await store.probeConditionalWrites() }
            guard supported else {
                throw S3Error(
                    .conditionalWritesUnsupported,
                    "the S3 server at \(configuration.endpoint) ignores If-None-Match, so create-only writes cannot be "
                        + "guaranteed: upgrade it, or pass --s3-conditional-writes emulate if only one flusher ever "
                        + "writes (see docs/OPERATIONS.md)")
            }
            return .assume
        }
    }

    /// Writes a probe object twice with `If-None-Match: *`: a server that honours the header refuses the second
    /// write with 412. The probe's name is reserved (never listed) and it is deleted afterwards.
    func probeConditionalWrites() async throws -> Bool {
        let full = configuration.prefix + ".lode-put-probe-" + Self.randomPutID()
        let body = ByteBuffer(string: "lode conditional-write probe")
        var headers = objectHeaders()
        // Retention would make the probe undeletable.
        headers.removeAll { $0.name.hasPrefix("x-amz-object-lock") }
        headers.append(("Content-MD5", S3Client.md5Base64(body)))
        headers.append(("If-None-Match", "*"))
        var supported: Bool?
        var failure: (any Error)?
        do {
            for attempt in 1...2 {
                let response = try await client.send(S3Request(.PUT, key: full, headers: headers, body: body))
                switch (attempt, response.status) {
                case (1, 200): continue
                case (2, 412): supported = true
                case (2, 200): supported = false
                default: throw client.failure(response, key: full, action: "PUT")
                }
            }
        } catch {
            failure = error
        }
        _ = try? await client.send(S3Request(.DELETE, key: full))
        if let failure { throw failure }
        return supported ?? false
    }

    static func randomPutID() -> String {
        var generator = SystemRandomNumberGenerator()
        return (0..<4).map { _ in String(generator.next() as UInt32, radix: 16) }.joined(separator: "-")
    }

    /// `2025-01-31T12:00:00Z`.
    static func iso8601(_ date: Date) -> String {
        let stamp = SigV4Signer.timestamp(date)  // yyyyMMddTHHmmssZ
        let c = Array(stamp)
        return String(c[0..<4]) + "-" + String(c[4..<6]) + "-" + String(c[6..<8]) + "T" + String(c[9..<11]) + ":"
            + String(c[11..<13]) + ":" + String(c[13..<15]) + "Z"
    }
}
