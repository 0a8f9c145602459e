import AsyncHTTPClient
import NIOHTTP1

extension S3Client {
    /// `s3://bucket/key`, for messages.
    func location(_ key: String?) -> String {
        "s3://\(configuration.bucket)/\(key ?? "")"
    }

    /// The one-line error for a non-2xx answer to `action` (e.g. `PUT`) on the bucket key `key`.
    func failure(_ response: S3Response, key: String?, action: String) -> S3Error {
        let body = S3Responses.ErrorBody.parse(response.body)
        let code = body?.code ?? "HTTP \(response.status)"
        let what = "\(action) \(location(key))"
        let region = configuration.region
        let answer: (kind: S3Error.Code, message: String)
        // A bucket in another region: the header is the most reliable hint (HEAD answers have no body).
        if let otherRegion = body?.region ?? response.header("x-amz-bucket-region"), otherRegion != region,
            [301, 400, 403].contains(response.status)
        {
            answer = (
                .wrongRegion,
                "bucket '\(configuration.bucket)' is in region '\(otherRegion)', not '\(region)' (\(code)): pass "
                    + "--s3-region \(otherRegion) or set AWS_REGION=\(otherRegion)"
            )
        } else {
            answer =
                failure(s3Code: body, code: code, what: what)
                ?? failure(status: response.status, body: body, code: code, what: what)
        }
        return S3Error(
            answer.kind, answer.message, key: key, status: response.status, s3Code: body?.code,
            requestID: body?.requestID)
    }

    private var retried: String { "retried \(configuration.retry.maxAttempts) times" }

    /// The kind and message for an S3 error code that says what to fix; nil for other codes.
    private func failure(
        s3Code body: S3Responses.ErrorBody?, code: String, what: String
    ) -> (S3Error.Code, String)? {
        let bucket = configuration.bucket
        switch body?.code {
        case "InvalidAccessKeyId":
            return (
                .invalidCredentials,
                "S3 does not know the access key ID (InvalidAccessKeyId): set AWS_ACCESS_KEY_ID (or the profile's "
                    + "aws_access_key_id) to a key of this account and endpoint"
            )
        case "SignatureDoesNotMatch":
            return (
                .invalidCredentials,
                "S3 rejected the request signature (SignatureDoesNotMatch): the secret access key does not match "
                    + "the key ID; check AWS_SECRET_ACCESS_KEY (or the profile's aws_secret_access_key)"
            )
        case "InvalidToken", "ExpiredToken", "TokenRefreshRequired", "InvalidSecurity":
            return (
                .invalidCredentials,
                "S3 rejected the session token (\(code)): the temporary credentials expired or are invalid; refresh "
                    + "AWS_SESSION_TOKEN together with the key pair"
            )
        case "RequestTimeTooSkewed":
            return (
                .clockSkew,
                "the local clock differs from S3's by more than 15 minutes (RequestTimeTooSkewed): synchronize the "
                    + "system clock (NTP)" + (body?.serverTime.map { "; S3's time is \($0)" } ?? "")
            )
        case "NoSuchBucket":
            return (
                .noSuchBucket,
                "bucket '\(bucket)' does not exist at \(configuration.endpoint) (NoSuchBucket): create it, or fix the "
                    + "bucket in --archive and the endpoint in --s3-endpoint"
            )
        case "AuthorizationHeaderMalformed", "PermanentRedirect", "IllegalLocationConstraintException":
            return (
                .wrongRegion,
                "bucket '\(bucket)' is not in region '\(configuration.region)' (\(code)): pass the bucket's region "
                    + "with --s3-region" + (body?.endpoint.map { " (S3 points to \($0))" } ?? "")
            )
        case "AccessDenied", "AllAccessDisabled", "AccountProblem":
            return (
                .accessDenied,
                "access denied: \(what) (\(code)): grant these credentials the S3 permissions listed in "
                    + "docs/OPERATIONS.md (S3) on the bucket and prefix"
            )
        case "SlowDown":
            return (.throttled, "S3 kept throttling \(what) (SlowDown, \(retried)): retry later")
        default:
            return nil
        }
    }

    /// The kind and message by HTTP status, for answers whose S3 error code says nothing more.
    private func failure(
        status: Int, body: S3Responses.ErrorBody?, code: String, what: String
    ) -> (S3Error.Code, String) {
        switch status {
        case 301, 307:
            return (
                .wrongRegion,
                "S3 redirected \(what) (HTTP \(status)): the bucket is in another region; pass it with --s3-region"
            )
        case 403 where body == nil:
            return (
                .accessDenied,
                "access denied: \(what) (HTTP 403): check the credentials and that they may read and write "
                    + "the bucket and prefix"
            )
        case 429, 503:
            return (.throttled, "S3 kept throttling \(what) (\(code), \(retried)): retry later")
        case 500...599:
            return (.serverError, "S3 failed \(what) (\(code), \(retried)): retry later")
        default:
            let detail = body.map { String($0.message.prefix(200)) } ?? ""
            return (
                .requestFailed, "S3 refused \(what) (HTTP \(status) \(code))" + (detail.isEmpty ? "" : ": \(detail)")
            )
        }
    }

    /// The ``S3Error`` (or `CancellationError`) for a failure below HTTP.
    func transportError(_ error: any Error, request: S3Request) -> any Error {
        if Task.isCancelled { return CancellationError() }
        let endpoint = configuration.endpoint
        let action = "\(request.method.rawValue) \(location(request.key))"
        func unreachable(_ why: String) -> S3Error {
            S3Error(
                .unreachable,
                "cannot reach the S3 endpoint \(endpoint) (\(why)): check --s3-endpoint (or AWS_ENDPOINT_URL), the "
                    + "network, and that the server is running")
        }
        if let error = error as? HTTPClientError {
            switch error {
            case .connectTimeout: return unreachable("connect timeout")
            case .readTimeout, .writeTimeout, .deadlineExceeded:
                return S3Error(.timeout, "\(action) timed out (retried \(configuration.retry.maxAttempts) times)")
            case .remoteConnectionClosed:
                return S3Error(.connectionLost, "the connection dropped during \(action) (retried)")
            default: break
            }
        }
        let text = String(describing: error).lowercased()
        if text.contains("refused") { return unreachable("connection refused") }
        if text.contains("resolve") || text.contains("getaddrinfo") || text.contains("name or service")
            || text.contains("no address")
        {
            return unreachable("unknown host")
        }
        if text.contains("unreachable") || text.contains("no route") { return unreachable("no route to host") }
        if text.contains("timed out") || text.contains("timeout") {
            return S3Error(.timeout, "\(action) timed out (retried \(configuration.retry.maxAttempts) times)")
        }
        return S3Error(
            .connectionLost, "the connection failed during \(action) (\(S3Error.oneLine(String(text.prefix(160)))))")
    }
}
