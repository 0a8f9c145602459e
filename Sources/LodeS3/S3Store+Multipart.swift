import Lode
import NIOCore
import NIOHTTP1

extension S3Store {
    public func putFile(_ key: String, fromLocalFile path: String) async throws {
        let full = try writableKey(key)
        let file = try LocalFile(path: path)
        if file.size < Int64(configuration.multipartThreshold) {
            try await createObject(key: key, full: full, body: try file.read(offset: 0, count: Int(file.size)))
        } else {
            try await multipartUpload(key: key, full: full, file: file)
        }
    }

    /// The part size actually used: at least S3's 5 MiB minimum, and large enough for S3's 10,000-part limit.
    static func partSize(configured: Int, fileSize: Int64) -> Int {
        let minimum = 5 << 20
        let forLimit = Int((fileSize + 9_999) / 10_000)
        return max(configured, minimum, forLimit)
    }

    /// Uploads `file` in parts, `uploadConcurrency` at a time, then completes the upload create-only. Any failure
    /// (including cancellation) aborts the upload, so S3 keeps no orphaned parts.
    func multipartUpload(key: String, full: String, file: LocalFile) async throws {
        let mode = try await conditionalWriteMode()
        // Fail fast before uploading gigabytes for a key that exists (completion re-checks atomically).
        if try await headObject(full) != nil {
            throw LodeError(
                .pathExists, "object '\(key)' already exists; objects are create-only and the first one was kept",
                key: key)
        }
        let putID = Self.randomPutID()
        var headers = objectHeaders()
        headers.append(("x-amz-meta-lode-put-id", putID))
        let created = try await client.send(S3Request(.POST, key: full, query: [("uploads", "")], headers: headers))
        guard created.status == 200 else { throw client.failure(created, key: full, action: "CreateMultipartUpload") }
        let uploadID = try S3Responses.uploadID(created.body)

        do {
            let etags = try await uploadParts(full: full, uploadID: uploadID, file: file)
            var completeHeaders: [(name: String, value: String)] = [("Content-Type", "application/xml")]
            if mode == .emulate {
                if try await headObject(full) != nil { throw Self.pathExists(key) }
            } else {
                completeHeaders.append(("If-None-Match", "*"))
            }
            let request = S3Request(
                .POST, key: full, query: [("uploadId", uploadID)], headers: completeHeaders,
                body: ByteBuffer(bytes: S3Responses.completeBody(etags: etags)))
            let outcome = try await sendConditional(request, full: full, putID: putID) { response in
                // S3 may answer 200 and report the failure in the body: treat it as the status it stands for.
                guard response.status == 200, let error = try S3Responses.completion(response.body) else {
                    return response
                }
                let status = ["InternalError", "SlowDown", "ServiceUnavailable"].contains(error.code) ? 503 : 400
                return S3Response(status: status, headers: response.headers, body: response.body)
            }
            if outcome == .preconditionFailed { throw Self.pathExists(key) }
        } catch {
            // Not inheriting the cancellation: the abort must run even when the upload was cancelled.
            let client = self.client
            await Task {
                _ = try? await client.send(S3Request(.DELETE, key: full, query: [("uploadId", uploadID)]))
            }.value
            throw error
        }
    }

    static func pathExists(_ key: String) -> LodeError {
        LodeError(
            .pathExists, "object '\(key)' already exists; objects are create-only and the first one was kept", key: key)
    }

    /// Uploads every part, at most `uploadConcurrency` at once, each read from disk only when its turn comes.
    /// Returns the ETags in part order.
    private func uploadParts(full: String, uploadID: String, file: LocalFile) async throws -> [String] {
        let partSize = Self.partSize(configured: configuration.partSize, fileSize: file.size)
        let partCount = max(1, Int((file.size + Int64(partSize) - 1) / Int64(partSize)))
        let concurrency = max(1, configuration.uploadConcurrency)
        let client = self.client
        return try await withThrowingTaskGroup(of: (Int, String).self) { group in
            var etags = [String](repeating: "", count: partCount)
            var next = 0
            func addPart(_ index: Int) {
                group.addTask {
                    let offset = Int64(index) * Int64(partSize)
                    let body = try file.read(offset: offset, count: Int(min(Int64(partSize), file.size - offset)))
                    let request = S3Request(
                        .PUT, key: full, query: [("partNumber", String(index + 1)), ("uploadId", uploadID)],
                        headers: [("Content-MD5", S3Client.md5Base64(body))], body: body)
                    let response = try await client.send(request)
                    guard response.status == 200, let etag = response.header("ETag") else {
                        throw client.failure(response, key: full, action: "UploadPart \(index + 1)")
                    }
                    return (index, etag)
                }
            }
            while next < min(concurrency, partCount) {
                addPart(next)
                next += 1
            }
            while let (index, etag) = try await group.next() {
                etags[index] = etag
                if next < partCount {
                    addPart(next)
                    next += 1
                }
            }
            return etags
        }
    }

    /// Multipart uploads still open under the store's prefix: `(key, uploadID)`, store-relative keys. After a
    /// clean run there are none; an interrupted process may leave some (a bucket lifecycle rule should abort
    /// incomplete uploads after a day, see docs/OPERATIONS.md).
    public func pendingMultipartUploads() async throws -> [(key: String, uploadID: String)] {
        var query: [(name: String, value: String)] = [("uploads", "")]
        if !configuration.prefix.isEmpty { query.append(("prefix", configuration.prefix)) }
        let response = try await client.send(S3Request(.GET, key: nil, query: query))
        guard response.status == 200 else { throw client.failure(response, key: nil, action: "ListMultipartUploads") }
        return try S3Responses.multipartUploads(response.body).map {
            (String($0.key.dropFirst(configuration.prefix.count)), $0.uploadID)
        }
    }
}
