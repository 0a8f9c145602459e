import ArchiverCore
import ArgumentParser
import Foundation

/// `--signing-key` and `--trusted-key`, shared by the commands that write or check signatures.
struct SigningOptions: ParsableArguments {
    @Option(
        help: ArgumentHelp(
            "Sign new manifests with this private key file. Also ARCHIVER_SIGNING_KEY.", valueName: "file"))
    var signingKey: String?

    @Option(
        help: ArgumentHelp(
            "Trust signatures by this public key file (repeatable; several keys allow rotation). Also "
                + "ARCHIVER_TRUSTED_KEYS (colon-separated). With any trusted key, unsigned manifests are reported.",
            valueName: "file"))
    var trustedKey: [String] = []

    func apply(to archive: inout Archive) throws {
        if let path = signingKey ?? CLIConfig.value("signing-key"), !path.isEmpty {
            archive.signer = try KeyFiles.loadPrivate(path: path)
        }
        let trusted = trustedKey + (CLIConfig.value("trusted-keys")?.split(separator: ":").map(String.init) ?? [])
        archive.trustedKeys = TrustedKeys(try trusted.map { try KeyFiles.loadPublic(path: $0) })
    }
}

struct KeysCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "keys",
        abstract: "Manage Ed25519 keys that sign archive manifests.",
        subcommands: [Generate.self])

    struct Generate: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Create a signing key pair: NAME.key (private, mode 0600) and NAME.pub (public).",
            discussion: """
                The flusher signs each manifest with the private key (--signing-key or ARCHIVER_SIGNING_KEY); \
                verification needs only public keys (--trusted-key). To rotate, generate a new pair, add its \
                .pub to the trusted keys everywhere, then switch the flusher to the new .key; keep the old \
                .pub trusted for as long as manifests signed by it are in the archive.

                Example: archiver keys generate --out keys/archive-2026
                """)

        @Option(help: ArgumentHelp("Path prefix of the two files.", valueName: "prefix"))
        var out: String = "archiver-signing"

        func run() async throws {
            try await CLIErrors.reporting {
                let (privateText, publicText, keyID) = KeyFiles.generate()
                let privatePath = out + ".key"
                let publicPath = out + ".pub"
                for path in [privatePath, publicPath] where FileManager.default.fileExists(atPath: path) {
                    throw ValidationError(
                        "\(path) exists; choose another --out or move it away (keys are never overwritten)")
                }
                let fd = open(privatePath, O_WRONLY | O_CREAT | O_EXCL, 0o600)
                guard fd >= 0 else {
                    throw ValidationError("cannot create \(privatePath): \(String(cString: strerror(errno)))")
                }
                let bytes = Array(privateText.utf8)
                let written = write(fd, bytes, bytes.count)
                fsync(fd)
                close(fd)
                guard written == bytes.count else { throw ValidationError("cannot write \(privatePath)") }
                try publicText.write(toFile: publicPath, atomically: true, encoding: .utf8)
                print("key id \(keyID): private key \(privatePath) (keep it secret), public key \(publicPath)")
            }
        }
    }
}

struct AnchorCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "anchor",
        abstract: "Print the archive's current head as an anchor line to publish outside the archive.",
        discussion: """
            An anchor names the head snapshot, its last position, the hash chain head and the SHA-256 of the \
            head manifest (plus its signature when signed). Publish it where whoever can write the archive \
            cannot (a ticket system, a transparency log, another account). Later, `archiver verify --anchor \
            FILE` detects a history rewritten end to end.

            Example: archiver anchor --append anchors.jsonl
            """)

    @OptionGroup var archiveOptions: ArchiveOptions

    @Option(help: ArgumentHelp("Also append the line to this file.", valueName: "file"))
    var append: String?

    func run() async throws {
        try await CLIErrors.reporting {
            let archive = try await ArchiveOpener.open(archiveOptions)
            let line = try await archive.anchor().line
            print(line)
            if let append {
                let fd = open(append, O_WRONLY | O_CREAT | O_APPEND, 0o644)
                guard fd >= 0 else {
                    throw ValidationError("cannot open \(append): \(String(cString: strerror(errno)))")
                }
                let bytes = Array((line + "\n").utf8)
                _ = write(fd, bytes, bytes.count)
                fsync(fd)
                close(fd)
            }
        }
    }
}
