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
            let store = try await storeOptions.openStore(create: true)
            let records = try await store.migrate()
            await store.close()
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
            let store = try await storeOptions.openStore(create: true)
            let records = try await store.migrate()
            await store.close()
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
            """)

    @OptionGroup var storeOptions: StoreOptions

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
            let store = try await storeOptions.openStore()
            do {
                if let type {
                    try await appendOne(store, type: type)
                } else {
                    guard stream == nil, data == nil else {
                        throw ValidationError("--type is required to append one event (or pipe JSON lines on stdin)")
                    }
                    // Single events: one call after another, so the loop runs on the store's thread.
                    try await withTaskExecutorPreference(batchSize == 1 ? store.taskExecutor : nil) {
                        try await appendBatch(store)
                    }
                }
            } catch {
                await store.close()
                throw error
            }
            await store.close()
        }
    }

    func appendOne(_ store: any CoordinationStore, type: String) async throws {
        guard let stream else { throw ValidationError("--stream is required with --type") }
        guard let data else { throw ValidationError("--data is required with --type (JSON text or @file)") }
        guard let expected = ExpectedVersion(parsing: expectedVersion) else {
            throw ValidationError("--expected-version '\(expectedVersion)' is not any, no-stream, exists or a number")
        }
        let event = ProposedEvent(id: id, type: type, data: try Self.load(data), metadata: try Self.load(metadata))
        let result = try await store.append(
            AppendRequest(stream: stream, expected: expected, idempotencyKey: idempotencyKey, events: [event]))
        print(
            #"{"stream":\#(Self.quoted(result.stream)),"version":\#(result.lastVersion),"#
                + #""position":\#(result.lastPosition),"id":"\#(result.eventIDs[0])","replayed":\#(result.replayed)}"#)
    }

    static func load(_ text: String) throws -> String {
        guard text.hasPrefix("@") else { return text }
        let path = String(text.dropFirst())
        guard let contents = try? String(contentsOfFile: path, encoding: .utf8) else {
            throw ValidationError("cannot read \(path)")
        }
        return contents.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    static func quoted(_ s: String) -> String {
        var out: [UInt8] = []
        RawJSON.appendQuoted(s, to: &out)
        return String(decoding: out, as: UTF8.self)
    }

    /// Reads JSON lines from stdin and appends them in order, in transactions of `batchSize` events.
    func appendBatch(_ store: any CoordinationStore) async throws {
        guard batchSize >= 1 else { throw ValidationError("--batch-size must be at least 1") }
        let started = ContinuousClock.now
        var requests: [AppendRequest] = []
        var pending = 0
        var total = 0
        var streams = Set<String>()
        var lineNumber = 0
        // One batch is in flight while the next is read and validated (batches of more than one event): the
        // store's round trip and commit overlap the parsing. A batch is sent only after the one before it succeeded, so order is kept and
        // a failure stops everything after it.
        var inFlight: (task: Task<Void, any Error>, count: Int)?
        func settle() async throws {
            guard let (task, count) = inFlight else { return }
            inFlight = nil
            try await task.value
            total += count
        }
        func commit() async throws {
            try await settle()
            guard !requests.isEmpty else { return }
            let batch = requests
            let (first, last, before) = (lineNumber - pending + 1, lineNumber, total)
            @Sendable func append() async throws {
                do {
                    _ = try await store.appendMultiple(batch, idempotencyKey: nil)
                } catch {
                    throw ValidationError(
                        "stdin line \(first)...\(last) not appended: \(CLIErrors.describe(error).0); the "
                            + "\(before) events before them were appended")
                }
            }
            let count = pending
            requests.removeAll(keepingCapacity: true)
            pending = 0
            if batchSize == 1 {
                // Single events: the hop to a task costs more than the overlap gains.
                try await append()
                total += count
            } else {
                inFlight = (Task { try await append() }, count)
            }
        }
        while let line = readLine(strippingNewline: true) {
            lineNumber += 1
            if line.allSatisfy(\.isWhitespace) { continue }
            let event: (stream: String, event: ProposedEvent)
            do {
                event = try Self.parseBatchLine(line)
            } catch {
                try await commit()
                try await settle()
                throw ValidationError(
                    "stdin line \(lineNumber): \(error); nothing from this line on was appended (\(total) events before "
                        + "it were)")
            }
            streams.insert(event.stream)
            if let last = requests.last, last.stream == event.stream {
                requests[requests.count - 1].events.append(event.event)
            } else {
                requests.append(AppendRequest(stream: event.stream, expected: .any, events: [event.event]))
            }
            pending += 1
            if pending >= batchSize { try await commit() }
        }
        try await commit()
        try await settle()
        let seconds = max(
            0.000_001,
            Double((ContinuousClock.now - started).components.attoseconds) / 1e18
                + Double((ContinuousClock.now - started).components.seconds))
        print(
            "appended \(total) events to \(streams.count) streams in \(String(format: "%.2f", seconds))s "
                + "(\(Int(Double(total) / seconds)) events/s)")
    }

    struct LineError: Error, CustomStringConvertible {
        var description: String
    }

    /// One batch line: `{"stream":…,"type":…,"data":…,"metadata":…,"id":…}`; data and metadata keep their bytes.
    static func parseBatchLine(_ line: String) throws -> (stream: String, event: ProposedEvent) {
        var line = line
        let parsed: (stream: String?, event: ProposedEvent)
        do {
            parsed = try line.withUTF8 { try EventJSON.parseEvent(UnsafeRawBufferPointer($0)) }
        } catch let error as CoordinationError {
            throw LineError(description: error.message)
        }
        guard let stream = parsed.stream else { throw LineError(description: "missing \"stream\" (a string)") }
        return (stream, parsed.event)
    }
}

struct ReadCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "read",
        abstract: "Read events from the coordination store as JSON lines.",
        discussion: """
            With --follow, keeps printing new events as they are appended (until interrupted). With --consumer NAME,
            starts after NAME's checkpoint and stores the position of the last event printed after each page, so
            the next run resumes there; prune never deletes events above a consumer's checkpoint.

            Examples:
              archiver read --stream account-42
              archiver read --all --after 1000 --limit 100
              archiver read --all --follow --consumer billing | ./billing-projector
            """)

    @OptionGroup var storeOptions: StoreOptions

    @Option(help: ArgumentHelp("Read one stream.", valueName: "stream"))
    var stream: String?

    @Flag(help: "Read all events in global order (up to the safe high-water mark).")
    var all = false

    @Option(help: ArgumentHelp("With --stream: the first version to read.", valueName: "version"))
    var from: Int64 = 1

    @Option(help: ArgumentHelp("With --all: read events after this position.", valueName: "position"))
    var after: Int64 = 0

    @Option(help: ArgumentHelp("At most this many events (default 1000; no limit with --follow).", valueName: "n"))
    var limit: Int?

    @Flag(help: "With --all: wait for new events and print them as they arrive, until interrupted.")
    var follow = false

    @Option(
        help: ArgumentHelp(
            "With --all: resume after this consumer's checkpoint and record it after each page printed.",
            valueName: "name"))
    var consumer: String?

    func validate() throws {
        guard (stream != nil) != all else { throw ValidationError("pass exactly one of --stream S or --all") }
        if stream != nil, follow || consumer != nil {
            throw ValidationError("--follow and --consumer read the global order: use them with --all")
        }
        if let consumer, consumer.isEmpty || consumer.utf8.count > 255 {
            throw ValidationError("--consumer must be 1 to 255 bytes")
        }
        if let limit, limit < 1 { throw ValidationError("--limit must be at least 1") }
    }

    func run() async throws {
        try await CLIErrors.reporting {
            let store = try await storeOptions.openStore()
            if let stream {
                try await readStream(stream, from: store)
            } else {
                try await readAll(from: store)
            }
            await store.close()
        }
    }

    private func readStream(_ stream: String, from store: any CoordinationStore) async throws {
        var out: [UInt8] = []
        var remaining = limit ?? 1_000
        var version = from
        while remaining > 0 {
            let page = try await store.readStream(stream, fromVersion: version, limit: min(remaining, 10_000))
            for e in page { Self.write(e, to: &out) }
            remaining -= page.count
            if page.count < min(remaining + page.count, 10_000) || page.isEmpty { break }
            version = page.last!.version + 1
            FileHandle.standardOutput.write(Data(out))
            out.removeAll(keepingCapacity: true)
        }
        FileHandle.standardOutput.write(Data(out))
    }

    /// Pages through the global order; each page is written before the consumer's checkpoint moves past it,
    /// so a crash prints an event again rather than skipping it.
    private func readAll(from store: any CoordinationStore) async throws {
        var position = after
        if let consumer, let stored = try await store.checkpoints().first(where: { $0.name == consumer }) {
            position = stored.position
        }
        var remaining = limit ?? (follow ? Int.max : 1_000)
        var out: [UInt8] = []
        while remaining > 0 {
            let page = try await store.readAll(after: position, limit: min(remaining, 10_000))
            guard let last = page.last else {
                if !follow { break }
                try await store.waitForEvents(after: position, timeoutSeconds: 30)
                continue
            }
            for e in page { Self.write(e, to: &out) }
            FileHandle.standardOutput.write(Data(out))
            out.removeAll(keepingCapacity: true)
            remaining -= page.count
            position = last.position
            if let consumer { try await store.setCheckpoint(consumer, position: position) }
        }
    }

    static func write(_ e: RecordedEvent, to out: inout [UInt8]) {
        EventJSON.write(e, to: &out)
        out.append(UInt8(ascii: "\n"))
    }
}

struct StreamsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "streams", abstract: "List streams with their current version and last position.")

    @OptionGroup var storeOptions: StoreOptions

    func run() async throws {
        try await CLIErrors.reporting {
            let store = try await storeOptions.openStore()
            var after: String?
            print("STREAM\tVERSION\tLAST_POSITION")
            while true {
                let page = try await store.streams(after: after, limit: 1_000)
                for h in page { print("\(h.stream)\t\(h.version)\t\(h.lastPosition)") }
                guard let last = page.last, page.count == 1_000 else { break }
                after = last.stream
            }
            await store.close()
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
            let store = try await storeOptions.openStore()
            let s = try await store.status()
            let cursor = try await store.flushCursor()
            let intent = try await store.pendingFlushIntent()
            await store.close()
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
