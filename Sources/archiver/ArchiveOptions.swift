import ArchiverConfiguration
import ArchiverCore
import ArgumentParser
import Foundation
import Lode
import LodeS3

/// `--archive` and the S3 options: where the archive lives. Shared by every command that reads or writes the
/// archive.
struct ArchiveOptions: ParsableArguments {
    @Option(name: .long, help: ConfigKeys.archive.help(valueName: "dir|s3-url"))
    var archive: String?

    @Option(name: .customLong("s3-endpoint"), help: ConfigKeys.s3Endpoint.help(valueName: "url"))
    var s3Endpoint: String?

    @Option(name: .customLong("s3-region"), help: ConfigKeys.s3Region.help(valueName: "region"))
    var s3Region: String?

    @Flag(name: .customLong("s3-path-style"), help: ConfigKeys.s3PathStyle.help())
    var s3PathStyle = false

    @Option(name: .customLong("s3-profile"), help: ConfigKeys.s3Profile.help(valueName: "name"))
    var s3Profile: String?

    @Option(name: .customLong("s3-sse"), help: ConfigKeys.s3SSE.help(valueName: "mode"))
    var s3SSE: String?

    @Option(name: .customLong("s3-object-lock-mode"), help: ConfigKeys.s3ObjectLockMode.help(valueName: "mode"))
    var s3ObjectLockMode: String?

    @Option(name: .customLong("s3-object-lock-days"), help: ConfigKeys.s3ObjectLockDays.help(valueName: "days"))
    var s3ObjectLockDays: Int?

    @Option(name: .customLong("s3-conditional-writes"), help: ConfigKeys.s3ConditionalWrites.help(valueName: "mode"))
    var s3ConditionalWrites: String?

    @Option(
        name: .customLong("s3-multipart-threshold"), help: ConfigKeys.s3MultipartThreshold.help(valueName: "size"))
    var s3MultipartThreshold: String?

    @Option(name: .customLong("s3-part-size"), help: ConfigKeys.s3PartSize.help(valueName: "size"))
    var s3PartSize: String?

    @Option(name: .customLong("s3-upload-concurrency"), help: ConfigKeys.s3UploadConcurrency.help(valueName: "n"))
    var s3UploadConcurrency: String?

    /// The location after applying the environment, the file and the default.
    var location: String { CLIConfig.text(ConfigKeys.archive, flag: archive) }

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

    /// The S3 choices of the command line, the environment and the file.
    func s3Options() throws -> S3Options {
        var options = S3Options()
        options.endpoint = try CLIConfig.value(ConfigKeys.s3Endpoint, flag: s3Endpoint)
        options.region = try CLIConfig.value(ConfigKeys.s3Region, flag: s3Region)
        // false leaves the choice to the endpoint (path-style for IP addresses and localhost).
        options.pathStyle = try CLIConfig.value(ConfigKeys.s3PathStyle, flag: s3PathStyle ? "true" : nil) ? true : nil
        options.profile = try CLIConfig.value(ConfigKeys.s3Profile, flag: s3Profile)
        options.serverSideEncryption = try serverSideEncryption()
        options.objectLock = try objectLock()
        let conditionalWrites = try CLIConfig.value(ConfigKeys.s3ConditionalWrites, flag: s3ConditionalWrites)
        options.conditionalWrites = S3Configuration.ConditionalWrites(rawValue: conditionalWrites)
        options.multipartThreshold = try CLIConfig.value(ConfigKeys.s3MultipartThreshold, flag: s3MultipartThreshold)
        options.partSize = try CLIConfig.value(ConfigKeys.s3PartSize, flag: s3PartSize)
        options.uploadConcurrency = try CLIConfig.value(ConfigKeys.s3UploadConcurrency, flag: s3UploadConcurrency)
        return options
    }

    private func serverSideEncryption() throws -> S3Configuration.ServerSideEncryption? {
        guard let sse = try CLIConfig.value(ConfigKeys.s3SSE, flag: s3SSE) else { return nil }
        switch sse {
        case "AES256", "aes256": return .aes256
        case "aws:kms": return .kms(keyID: nil)
        case let value where value.hasPrefix("aws:kms:"): return .kms(keyID: String(value.dropFirst("aws:kms:".count)))
        default: throw ValidationError("--s3-sse \(sse): write AES256, aws:kms or aws:kms:<key-id>")
        }
    }

    private func objectLock() throws -> S3Configuration.ObjectLock? {
        let days = try s3ObjectLockDays ?? CLIConfig.value(ConfigKeys.s3ObjectLockDays, flag: nil)
        // The mode is read as written: the flag has always accepted lower case.
        switch (CLIConfig.text(ConfigKeys.s3ObjectLockMode, flag: s3ObjectLockMode), days) {
        case (nil, nil):
            return nil
        case (let mode?, let days?):
            guard let parsed = S3Configuration.ObjectLock.Mode(rawValue: mode.uppercased()) else {
                throw ValidationError("--s3-object-lock-mode \(mode): write GOVERNANCE or COMPLIANCE")
            }
            guard days > 0 else { throw ValidationError("--s3-object-lock-days must be at least 1") }
            return S3Configuration.ObjectLock(mode: parsed, days: days)
        default:
            throw ValidationError("--s3-object-lock-mode and --s3-object-lock-days go together: pass both")
        }
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
