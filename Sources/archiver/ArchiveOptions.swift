import ArchiverCore
import ArgumentParser
import Foundation
import Lode

/// `--archive`: where the archive lives. Shared by every command that reads or writes the archive.
struct ArchiveOptions: ParsableArguments {
    @Option(
        name: .long,
        help: ArgumentHelp(
            "Archive location: a directory (default ./archive). Also ARCHIVER_ARCHIVE.", valueName: "dir"))
    var archive: String?

    /// The location after applying the environment and the default.
    var location: String {
        archive ?? CLIConfig.value("archive") ?? "./archive"
    }

    /// Opens the object store at ``location``, creating a local directory when `create` is set.
    func openStore(create: Bool) throws -> any ObjectStore {
        let location = self.location
        if location.hasPrefix("s3://") {
            throw ValidationError(
                "S3 archives (\(location)) are not supported by this build yet; use a directory for --archive")
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
}
