import ArchiverCore
import ArgumentParser
import Foundation
import Lode
import LodeS3

/// `--archive` and the S3 options: where the archive lives. Shared by every command that reads or writes the
/// archive.
struct ArchiveOptions: ParsableArguments {
    @Option(
        name: .long,
        help: ArgumentHelp(
            "Archive location: a directory (default ./archive) or s3://bucket/prefix (see the --s3-* options and "
                + "docs/OPERATIONS.md). Also ARCHIVER_ARCHIVE.", valueName: "dir|s3-url"))
    var archive: String?

    @Option(
        name: .customLong("s3-endpoint"),
        help: ArgumentHelp(
            "S3 API endpoint, e.g. http://127.0.0.1:9000 (default: AWS in the region). Also ARCHIVER_S3_ENDPOINT, "
                + "AWS_ENDPOINT_URL_S3, AWS_ENDPOINT_URL.", valueName: "url"))
    var s3Endpoint: String?

    @Option(
        name: .customLong("s3-region"),
        help: ArgumentHelp(
            "S3 region (default us-east-1). Also ARCHIVER_S3_REGION, AWS_REGION, AWS_DEFAULT_REGION, the profile's "
                + "region.", valueName: "region"))
    var s3Region: String?

    @Flag(
        name: .customLong("s3-path-style"),
        help: "Path-style S3 URLs (host/bucket/key), as MinIO and Ceph need. Also ARCHIVER_S3_PATH_STYLE=true.")
    var s3PathStyle = false

    @Option(
        name: .customLong("s3-profile"),
        help: ArgumentHelp(
            "Profile of ~/.aws/credentials and ~/.aws/config; wins over AWS_ACCESS_KEY_ID. Also AWS_PROFILE "
                + "(which does not).", valueName: "name"))
    var s3Profile: String?

    @Option(
        name: .customLong("s3-sse"),
        help: ArgumentHelp(
            "Server-side encryption of written objects: AES256, aws:kms, or aws:kms:<key-id-or-arn>.",
            valueName: "mode"))
    var s3SSE: String?

    @Option(
        name: .customLong("s3-object-lock-mode"),
        help: ArgumentHelp(
            "Object Lock retention of written objects: GOVERNANCE or COMPLIANCE (needs --s3-object-lock-days and "
                + "a bucket with Object Lock).", valueName: "mode"))
    var s3ObjectLockMode: String?

    @Option(
        name: .customLong("s3-object-lock-days"),
        help: ArgumentHelp("Object Lock retention in days from each write.", valueName: "days"))
    var s3ObjectLockDays: Int?

    @Option(
        name: .customLong("s3-conditional-writes"),
        help: ArgumentHelp(
            "How create-only writes are guaranteed: probe (check once that the server honours If-None-Match), "
                + "assume, or emulate (HEAD then PUT; only with a single writer). Default probe.",
            valueName: "mode"))
    var s3ConditionalWrites: String?

    @Option(
        name: .customLong("s3-multipart-threshold"),
        help: ArgumentHelp(
            "Objects at least this large are uploaded in parts, 5MiB to 5GiB (default 16MiB). Also "
                + "ARCHIVER_S3_MULTIPART_THRESHOLD.", valueName: "size"))
    var s3MultipartThreshold: String?

    @Option(
        name: .customLong("s3-part-size"),
        help: ArgumentHelp(
            "Size of each part of a multipart upload, 5MiB to 5GiB (default 8MiB). Also ARCHIVER_S3_PART_SIZE.",
            valueName: "size"))
    var s3PartSize: String?

    @Option(
        name: .customLong("s3-upload-concurrency"),
        help: ArgumentHelp(
            "Parts of one multipart upload sent at once, 1 to 64 (default 4; memory: this times the part size). "
                + "Also ARCHIVER_S3_UPLOAD_CONCURRENCY.", valueName: "n"))
    var s3UploadConcurrency: String?

    /// The location after applying the environment and the default.
    var location: String {
        archive ?? CLIConfig.value("archive") ?? "./archive"
    }

    /// Opens the object store at ``location``, creating a local directory when `create` is set. An S3 store makes
    /// no request here; ``ArchiveOpener`` checks access before use.
    func openStore(create: Bool) throws -> any ObjectStore {
        let location = self.location
        if location.hasPrefix("s3://") {
            return S3Store(configuration: try S3Configuration.resolve(url: location, options: try s3Options()))
        }
        var isDirectory: ObjCBool = false
        if !FileManager.default.fileExists(atPath: location, isDirectory: &isDirectory) {
            guard create else {
                throw ValidationError(
                    "no archive at \(location): run `archiver flush` first, or pass --archive with the right directory")
            }
            try FileManager.default.createDirectory(atPath: location, withIntermediateDirectories: true)
        } else if !isDirectory.boolValue {
            throw ValidationError("--archive \(location) is a file, not a directory")
        }
        return FileStore(root: location)
    }

    /// The S3 choices of the command line.
    func s3Options() throws -> S3Options {
        var options = S3Options()
        options.endpoint = s3Endpoint ?? CLIConfig.value("s3-endpoint")
        options.region = s3Region ?? CLIConfig.value("s3-region")
        options.pathStyle = s3PathStyle || CLIConfig.value("s3-path-style") == "true" ? true : nil
        options.profile = s3Profile ?? CLIConfig.value("s3-profile")
        if let sse = s3SSE ?? CLIConfig.value("s3-sse") {
            switch sse {
            case "AES256", "aes256": options.serverSideEncryption = .aes256
            case "aws:kms": options.serverSideEncryption = .kms(keyID: nil)
            case let value where value.hasPrefix("aws:kms:"):
                options.serverSideEncryption = .kms(keyID: String(value.dropFirst("aws:kms:".count)))
            default:
                throw ValidationError("--s3-sse \(sse): write AES256, aws:kms or aws:kms:<key-id>")
            }
        }
        let lockDays =
            try s3ObjectLockDays
            ?? CLIConfig.value("s3-object-lock-days").map { text in
                guard let days = Int(text) else {
                    throw ValidationError("s3-object-lock-days '\(text)' is not a number")
                }
                return days
            }
        switch (s3ObjectLockMode ?? CLIConfig.value("s3-object-lock-mode"), lockDays) {
        case (nil, nil): break
        case (let mode?, let days?):
            guard let parsed = S3Configuration.ObjectLock.Mode(rawValue: mode.uppercased()) else {
                throw ValidationError("--s3-object-lock-mode \(mode): write GOVERNANCE or COMPLIANCE")
            }
            guard days > 0 else { throw ValidationError("--s3-object-lock-days must be at least 1") }
            options.objectLock = S3Configuration.ObjectLock(mode: parsed, days: days)
        default:
            throw ValidationError("--s3-object-lock-mode and --s3-object-lock-days go together: pass both")
        }
        if let mode = s3ConditionalWrites ?? CLIConfig.value("s3-conditional-writes") {
            guard let parsed = S3Configuration.ConditionalWrites(rawValue: mode) else {
                throw ValidationError("--s3-conditional-writes \(mode): write probe, assume or emulate")
            }
            options.conditionalWrites = parsed
        }
        options.multipartThreshold = try CLIConfig.number("s3-multipart-threshold", flag: s3MultipartThreshold)
        options.partSize = try CLIConfig.number("s3-part-size", flag: s3PartSize)
        options.uploadConcurrency = try CLIConfig.number("s3-upload-concurrency", flag: s3UploadConcurrency)
        return options
    }
}

/// `--stream`, `--category`, `--type`: which events a replay or an export selects.
struct EventSelectionOptions: ParsableArguments {
    @Option(help: ArgumentHelp("Only this stream (repeatable).", valueName: "stream"))
    var stream: [String] = []

    @Option(
        help: ArgumentHelp(
            "Only streams of this category, the part before the first '-' (repeatable).", valueName: "category"))
    var category: [String] = []

    @Option(help: ArgumentHelp("Only events of this type (repeatable).", valueName: "type"))
    var type: [String] = []

    func filter(shard: ReplayShard? = nil) -> ReplayFilter {
        ReplayFilter(streams: Set(stream), categories: Set(category), types: Set(type), shard: shard)
    }
}
