import ArchiverCore
import ArgumentParser
import Coordination
import Foundation

/// `--subject-field`: crypto-shredding's metadata member. Shared by flush and forget.
struct SubjectOptions: ParsableArguments {
    @Option(
        help: ArgumentHelp(
            "Encrypt each event's data under the key of the subject named by this top-level metadata member "
                + "(a string), so `archiver forget` can erase it. Also ARCHIVER_SUBJECT_FIELD.",
            valueName: "name"))
    var subjectField: String?

    /// The field after applying the environment; nil when crypto-shredding is off.
    func field() throws -> String? {
        guard let field = subjectField ?? CLIConfig.value("subject-field"),
            !field.isEmpty
        else { return nil }
        guard
            field.utf8.allSatisfy({
                $0 == 95 || $0 == 45 || (48...57).contains($0) || (65...90).contains($0) || (97...122).contains($0)
            })
        else {
            throw ValidationError("--subject-field '\(field)' must be a plain member name (letters, digits, _ and -)")
        }
        return field
    }
}

/// Loads the subject keys replay and export need to show encrypted events, from the coordination store when
/// there is one (a store that is not there just means no keys: encrypted data is shown redacted).
enum SubjectKeyLoader {
    static func load(_ options: StoreOptions) async throws -> [String: SubjectKey] {
        let location = options.location
        let isURL = location.hasPrefix("postgres://") || location.hasPrefix("postgresql://")
        let explicit = options.store != nil || ProcessInfo.processInfo.environment["ARCHIVER_STORE"] != nil
        if !isURL && !explicit {
            let path = location.hasPrefix("sqlite:") ? String(location.dropFirst(7)) : location
            guard FileManager.default.fileExists(atPath: path) else { return [:] }
        }
        return try await options.withStore { try await $0.subjectKeys() }
    }
}

struct ForgetCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "forget",
        abstract: "Erase a data subject (right to erasure): destroy its key and redact its hot events.",
        discussion: """
            Works with flushes run with --subject-field (or ARCHIVER_SUBJECT_FIELD): they archive the data of \
            every event whose metadata names a subject encrypted under that subject's key (AES-256-GCM). \
            `forget` destroys the key in the coordination store, so every archived copy becomes unreadable; \
            replay and export then show the data as {"$redacted":"subject forgotten"}, and `verify` still \
            passes because the hash chain covers the ciphertext. The subject's events still in the hot store \
            get the same redacted data, and later flushes redact any that arrive.

            What is not erased: the event's stream, type, metadata (including the subject id) and time; \
            backups of the coordination store taken before `forget` (they hold the key); read models and \
            aggregate snapshots already derived from the data (rebuild them with `replay --from-scratch`). \
            See docs/AUDIT.md.

            Example: archiver forget customer-1842 --subject-field subject
            """)

    @OptionGroup var storeOptions: StoreOptions
    @OptionGroup var subjects: SubjectOptions

    @Argument(help: ArgumentHelp("The subject id, as it appears in the events' metadata.", valueName: "subject"))
    var subject: String

    func run() async throws {
        try await CLIErrors.reporting {
            guard let field = try subjects.field() else {
                throw ValidationError(
                    "give the metadata member that names subjects with --subject-field (or ARCHIVER_SUBJECT_FIELD)")
            }
            let result = try await storeOptions.withStore {
                try await $0.forgetSubject(subject, metadataField: field, redactedData: SubjectCipher.forgottenData)
            }
            print(
                "forgot \(subject): "
                    + (result.destroyedKey ? "key destroyed" : "no key existed (a tombstone now redacts later events)")
                    + "; \(result.redactedHotEvents) hot event(s) redacted")
        }
    }
}
