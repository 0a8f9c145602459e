import ArchiverCore
import ArgumentParser
import Coordination
import Foundation
import RawJSON

struct InitCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "init",
        abstract: "Create the coordination store (if needed) and apply its migrations.",
        discussion: """
            With no options this creates ./archiver.db (SQLite, WAL mode). Running it again is harmless.

            Examples:
              archiver init
              archiver init --store sqlite:/var/lib/archiver/archiver.db
            """)

    @OptionGroup var storeOptions: StoreOptions

    func run() async throws {
        try await CLIErrors.reporting {
            let records = try await storeOptions.withStore(create: true) { try await $0.migrate() }
            let applied = records.filter(\.appliedNow)
            if applied.isEmpty {
                print("store \(storeOptions.displayLocation) is up to date (\(records.count) migration(s))")
            } else {
                print(
                    "initialised \(storeOptions.displayLocation): applied "
                        + applied.map { "\($0.version) \($0.name)" }.joined(separator: ", "))
            }
        }
    }
}

struct MigrateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "migrate",
        abstract: "Apply pending schema migrations; refuse a database with unknown or altered ones.",
        discussion: "Migrations are embedded in the binary and recorded with SHA-256 checksums. Re-running is a no-op.")

    @OptionGroup var storeOptions: StoreOptions

    func run() async throws {
        try await CLIErrors.reporting {
            let records = try await storeOptions.withStore(create: true) { try await $0.migrate() }
            for r in records {
                print("\(r.version)\t\(r.name)\t\(r.checksum.prefix(16))\t\(r.appliedNow ? "applied" : "present")")
            }
        }
    }
}

struct AppendCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "append",
        abstract: "Append events: one from the options, or a JSONL batch from stdin.",
        discussion: """
            One event:
              archiver append --stream account-42 --expected-version no-stream --type AccountOpened \\
                  --data '{"owner":"Ada"}' --idempotency-key open-42

            --expected-version takes any, no-stream, exists, or a version number; a mismatch exits with status 2 \
            and names the stream's actual version. Retrying with the same --idempotency-key returns the original \
            result without writing again.

            Batch (no --type): one JSON object per stdin line with "stream", "type", "data" and optionally \
            "metadata" and "id"; appended in order, in transactions of --batch-size events:
              python3 examples/bank/generate.py | archiver append

            Input is read as bytes and stored byte for byte. All of stdin is read and every line checked (UTF-8, \
            JSON, the append limits) before the first commit: a bad line appends nothing and exits with status \
            65, naming the line (and the byte offset of invalid UTF-8), so the fixed input can simply be sent \
            again. Only a store failure during the commits (connection lost, disk full) leaves the transactions \
            before it committed; its message names the first line not appended.
            """)

    @OptionGroup var storeOptions: StoreOptions
    @OptionGroup var appendGroup: AppendGroupOptions

    @Option(help: ArgumentHelp("Stream to append to.", valueName: "stream"))
    var stream: String?

    @Option(help: ArgumentHelp("any, no-stream, exists, or a version number.", valueName: "version"))
    var expectedVersion: String = "any"

    @Option(help: ArgumentHelp("Make a retry of this append return the original result.", valueName: "key"))
    var idempotencyKey: String?

    @Option(help: ArgumentHelp("Event type (single-event mode).", valueName: "type"))
    var type: String?

    @Option(help: ArgumentHelp("Event data: JSON text, or @FILE to read it from a file.", valueName: "json"))
    var data: String?

    @Option(help: ArgumentHelp("Event metadata: a JSON object, or @FILE.", valueName: "json"))
    var metadata: String = "{}"

    @Option(help: ArgumentHelp("Event id (a UUID; generated when omitted).", valueName: "uuid"))
    var id: String?

    @Option(help: ArgumentHelp("Batch mode: events per transaction.", valueName: "n"))
    var batchSize: Int = 500

    func run() async throws {
        try await CLIErrors.reporting {
            try AppendInput.checkArguments()
            try await storeOptions.withStore(groupCommit: try appendGroup.groupCommit()) { store in
                if let type {
                    try await appendOne(store, type: type)
                } else {
                    guard stream == nil, data == nil else {
                        throw ValidationError("--type is required to append one event (or pipe JSON lines on stdin)")
                    }
                    let appender = try BatchAppender(store: store, batchSize: batchSize)
                    let input = AppendInput.standardInput()
                    // Single events: one call after another, so the loop runs on the store's thread.
                    let summary = try await withTaskExecutorPreference(batchSize == 1 ? store.taskExecutor : nil) {
                        try await appender.append(input)
                    }
                    let seconds = max(0.000_001, summary.seconds)
                    print(
                        "appended \(summary.events) events to \(summary.streams) streams in "
                            + "\(String(format: "%.2f", seconds))s (\(Int(Double(summary.events) / seconds)) events/s)")
                }
            }
        }
    }

    func appendOne(_ store: any CoordinationStore, type: String) async throws {
        guard let stream else { throw ValidationError("--stream is required with --type") }
        guard let data else { throw ValidationError("--data is required with --type (JSON text or @file)") }
        guard let expected = ExpectedVersion(parsing: expectedVersion) else {
            throw ValidationError("--expected-version '\(expectedVersion)' is not any, no-stream, exists or a number")
        }
        let event = ProposedEvent(
            id: id, type: type, data: try AppendInput.text(data, option: "--data"),
            metadata: try AppendInput.text(metadata, option: "--metadata"))
        let result = try await store.append(
            AppendRequest(stream: stream, expected: expected, idempotencyKey: idempotencyKey, events: [event]))
        print(
            #"{"stream":\#(Self.quoted(result.stream)),"version":\#(result.lastVersion),"#
                + #""position":\#(result.lastPosition),"id":"\#(result.eventIDs[0])","replayed":\#(result.replayed)}"#)
    }

    static func quoted(_ s: String) -> String {
        var out: [UInt8] = []
        RawJSON.appendQuoted(s, to: &out)
        return String(decoding: out, as: UTF8.self)
    }
}

struct StreamsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "streams", abstract: "List streams with their current version and last position.")

    @OptionGroup var storeOptions: StoreOptions

    func run() async throws {
        try await CLIErrors.reporting {
            try await storeOptions.withStore { store in
                var after: String?
                print("STREAM\tVERSION\tLAST_POSITION")
                while true {
                    let page = try await store.streams(after: after, limit: 1_000)
                    for h in page { print("\(h.stream)\t\(h.version)\t\(h.lastPosition)") }
                    guard let last = page.last, page.count == 1_000 else { break }
                    after = last.stream
                }
            }
        }
    }
}

struct StatusCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status",
        abstract: "Head position, safe high-water mark, flush cursor and unflushed count.")

    @OptionGroup var storeOptions: StoreOptions

    func run() async throws {
        try await CLIErrors.reporting {
            let (s, cursor, intent) = try await storeOptions.withStore { store in
                (try await store.status(), try await store.flushCursor(), try await store.pendingFlushIntent())
            }
            print("store:                \(storeOptions.displayLocation)")
            print("head position:        \(s.headPosition)")
            print("safe high-water mark: \(s.safeHighWaterMark)")
            print(
                "flush cursor:         \(s.flushCursor) (snapshot \(cursor.snapshotID.isEmpty ? "-" : cursor.snapshotID))"
            )
            print("unflushed events:     \(s.unflushedCount)")
            print("events / streams:     \(s.eventCount) / \(s.streamCount)")
            print("pruned through:       \(s.prunedThrough)")
            if let intent {
                print(
                    "pending flush:        snapshot \(intent.snapshotID), positions \(intent.firstPosition)...\(intent.lastPosition)"
                )
            }
        }
    }
}
