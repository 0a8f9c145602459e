import Foundation

/// The choices a command line makes about an S3 archive; `nil` leaves a choice to the environment.
///
/// ```swift
/// var options = S3Options()
/// options.endpoint = "http://127.0.0.1:9000"
/// let configuration = try S3Configuration.resolve(url: "s3://archive/orders", options: options)
/// ```
public struct S3Options: Sendable {
    /// `--s3-endpoint`.
    public var endpoint: String?
    /// `--s3-region`.
    public var region: String?
    /// `--s3-path-style`: `true` forces path-style URLs, `false` virtual-hosted ones.
    public var pathStyle: Bool?
    /// `--s3-profile`: a profile of the shared files; it then wins over `AWS_ACCESS_KEY_ID`.
    public var profile: String?
    /// `--s3-sse`.
    public var serverSideEncryption: S3Configuration.ServerSideEncryption?
    /// `--s3-object-lock-mode` and `--s3-object-lock-days`.
    public var objectLock: S3Configuration.ObjectLock?
    /// `--s3-conditional-writes`.
    public var conditionalWrites: S3Configuration.ConditionalWrites?
    /// `--s3-multipart-threshold`, in bytes.
    public var multipartThreshold: Int?
    /// `--s3-part-size`, in bytes.
    public var partSize: Int?
    /// `--s3-upload-concurrency`.
    public var uploadConcurrency: Int?

    public init() {}
}

extension S3Configuration {
    /// Resolves an `s3://bucket/prefix` URL with `options`, the environment (the process's when `nil`) and the AWS
    /// shared files.
    ///
    /// Precedence, first found wins:
    /// - endpoint: option, `ARCHIVER_S3_ENDPOINT`, `AWS_ENDPOINT_URL_S3`, `AWS_ENDPOINT_URL`, the profile's
    ///   `endpoint_url`, else AWS (`https://s3.<region>.amazonaws.com`);
    /// - region: option, `ARCHIVER_S3_REGION`, `AWS_REGION`, `AWS_DEFAULT_REGION`, the profile's `region`, else
    ///   `us-east-1`;
    /// - path style: option, `ARCHIVER_S3_PATH_STYLE` (`true`/`false`), else ``Addressing/automatic``;
    /// - credentials: the profile named by the option; else `AWS_ACCESS_KEY_ID` + `AWS_SECRET_ACCESS_KEY`
    ///   (+ `AWS_SESSION_TOKEN`); else the profile `AWS_PROFILE` (or `default`) of `AWS_SHARED_CREDENTIALS_FILE`
    ///   (`~/.aws/credentials`), then of `AWS_CONFIG_FILE` (`~/.aws/config`).
    ///
    /// - Throws: ``S3Error/Code/invalidConfiguration`` or ``S3Error/Code/missingCredentials``, naming the fix.
    public static func resolve(
        url: String, options: S3Options = S3Options(),
        environment: [String: String]? = nil
    ) throws(S3Error) -> S3Configuration {
        let environment = environment ?? ProcessInfo.processInfo.environment
        func env(_ name: String) -> String? {
            guard let value = environment[name]?.trimmingCharacters(in: .whitespaces), !value.isEmpty else {
                return nil
            }
            return value
        }
        _ = try parse(url: url)  // a bad URL is reported before anything about credentials
        let files = AWSSharedFiles(environment: environment)
        let profile = options.profile ?? env("AWS_PROFILE") ?? env("AWS_DEFAULT_PROFILE") ?? "default"
        if (options.profile != nil || env("AWS_PROFILE") != nil), !files.hasProfile(profile) {
            throw S3Error(
                .missingCredentials,
                "AWS profile '\(profile)' is not in \(files.credentialsPath) or \(files.configPath): add it, or "
                    + "name an existing one with --s3-profile / AWS_PROFILE")
        }
        let credentials = try Self.credentials(options: options, profile: profile, files: files, env: env)
        let region =
            options.region ?? env("ARCHIVER_S3_REGION") ?? env("AWS_REGION") ?? env("AWS_DEFAULT_REGION")
            ?? files.config[profile]?["region"] ?? "us-east-1"
        let endpoint =
            options.endpoint ?? env("ARCHIVER_S3_ENDPOINT") ?? env("AWS_ENDPOINT_URL_S3") ?? env("AWS_ENDPOINT_URL")
            ?? files.config[profile]?["endpoint_url"]
        var configuration = try S3Configuration(
            url: url, endpoint: endpoint, region: region, credentials: credentials)
        try configuration.apply(options, pathStyleVariable: env("ARCHIVER_S3_PATH_STYLE"))
        return configuration
    }

    /// The environment's keys unless a profile was named, else the profile's keys from the shared files.
    private static func credentials(
        options: S3Options, profile: String, files: AWSSharedFiles, env: (String) -> String?
    ) throws(S3Error) -> S3Credentials {
        let envKey = env("AWS_ACCESS_KEY_ID")
        let envSecret = env("AWS_SECRET_ACCESS_KEY")
        if options.profile == nil, envKey != nil || envSecret != nil {
            guard let envKey, let envSecret else {
                throw S3Error(
                    .missingCredentials,
                    "only one of AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY is set: set both, or neither to use "
                        + "the shared credentials file")
            }
            return S3Credentials(
                accessKeyID: envKey, secretAccessKey: envSecret, sessionToken: env("AWS_SESSION_TOKEN"))
        }
        if let key = files.value("aws_access_key_id", profile: profile),
            let secret = files.value("aws_secret_access_key", profile: profile)
        {
            return S3Credentials(
                accessKeyID: key, secretAccessKey: secret,
                sessionToken: files.value("aws_session_token", profile: profile))
        }
        throw S3Error(
            .missingCredentials,
            "no S3 credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or add aws_access_key_id and "
                + "aws_secret_access_key to profile '\(profile)' in \(files.credentialsPath)")
    }

    /// Addressing, encryption, Object Lock and upload tuning from `options` (the path style also from
    /// `ARCHIVER_S3_PATH_STYLE`), each checked against S3's limits.
    private mutating func apply(_ options: S3Options, pathStyleVariable: String?) throws(S3Error) {
        var pathStyle = options.pathStyle
        if pathStyle == nil, let text = pathStyleVariable {
            switch text.lowercased() {
            case "1", "true", "yes", "on": pathStyle = true
            case "0", "false", "no", "off": pathStyle = false
            default:
                throw S3Error(.invalidConfiguration, "ARCHIVER_S3_PATH_STYLE='\(text)': write true or false")
            }
        }
        if let pathStyle { addressing = pathStyle ? .pathStyle : .virtualHosted }
        serverSideEncryption = options.serverSideEncryption
        if let lock = options.objectLock {
            guard lock.days > 0 else {
                throw S3Error(.invalidConfiguration, "Object Lock retention must be at least 1 day, not \(lock.days)")
            }
            objectLock = lock
        }
        if let conditionalWrites = options.conditionalWrites { self.conditionalWrites = conditionalWrites }
        // S3 takes parts of 5 MiB to 5 GiB (only the last may be smaller), and single PUTs up to 5 GiB.
        let partLimits = (5 << 20)...(5 << 30)
        if let size = options.partSize {
            guard partLimits.contains(size) else {
                throw S3Error(.invalidConfiguration, "the S3 part size must be 5 MiB to 5 GiB, not \(size) bytes")
            }
            partSize = size
        }
        if let threshold = options.multipartThreshold {
            guard partLimits.contains(threshold) else {
                throw S3Error(
                    .invalidConfiguration, "the S3 multipart threshold must be 5 MiB to 5 GiB, not \(threshold) bytes")
            }
            multipartThreshold = threshold
        }
        if let concurrency = options.uploadConcurrency {
            guard concurrency >= 1 else {
                throw S3Error(.invalidConfiguration, "the S3 upload concurrency must be at least 1, not \(concurrency)")
            }
            uploadConcurrency = concurrency
        }
    }
}
