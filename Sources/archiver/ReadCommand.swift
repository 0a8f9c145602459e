import ArchiverCore
import ArgumentParser
import Coordination
import Foundation

struct ReadCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "read",
        abstract: "Read events as JSON lines: pruned history from the archive, the rest from the store.",
        discussion: """
            Events the store pruned after archiving are read from the archive (--archive), verified as they are \
            read, with the same bytes, positions and versions as before the prune. With --follow, keeps printing \
            new events as they are appended (until interrupted). With --consumer NAME, starts after NAME's \
            checkpoint and stores the position of the last event printed after each page, so the next run \
            resumes there; prune never deletes events above a consumer's checkpoint.

            Examples:
              archiver read --stream account-42
              archiver read --all --after 1000 --limit 100
              archiver read --category account --after 0
              archiver read --all --follow --consumer billing | ./billing-projector
            """)

    @OptionGroup var storeOptions: StoreOptions
    @OptionGroup var archiveOptions: ArchiveOptions

    @Option(help: ArgumentHelp("Read one stream.", valueName: "stream"))
    var stream: String?

    @Option(help: ArgumentHelp("Read the streams of one category (the name before the first -).", valueName: "name"))
    var category: String?

    @Flag(help: "Read all events in global order (up to the safe high-water mark).")
    var all = false

    @Option(help: ArgumentHelp("With --stream: the first version to read.", valueName: "version"))
    var from: Int64 = 1

    @Option(help: ArgumentHelp("With --all or --category: read events after this position.", valueName: "position"))
    var after: Int64 = 0

    @Option(help: ArgumentHelp("At most this many events (default 1000; no limit with --follow).", valueName: "n"))
    var limit: Int?

    @Flag(help: "With --all or --category: wait for new events and print them as they arrive, until interrupted.")
    var follow = false

    @Option(
        help: ArgumentHelp(
            "With --all: resume after this consumer's checkpoint and record it after each page printed.",
            valueName: "name"))
    var consumer: String?

    @Flag(help: "Print the upcast view: events through the rules of --upcasters or the configuration file.")
    var upcast = false

    @Option(help: ArgumentHelp("Upcaster rules (YAML) for --upcast.", valueName: "file"))
    var upcasters: String?

    func validate() throws {
        guard [stream != nil, category != nil, all].filter({ $0 }).count == 1 else {
            throw ValidationError("pass exactly one of --stream S, --category C or --all")
        }
        if stream != nil, follow {
            throw ValidationError("--follow reads the global order: use it with --all or --category")
        }
        if consumer != nil, !all { throw ValidationError("--consumer reads the global order: use it with --all") }
        if let consumer, consumer.isEmpty || consumer.utf8.count > 255 {
            throw ValidationError("--consumer must be 1 to 255 bytes")
        }
        if let limit, limit < 1 { throw ValidationError("--limit must be at least 1") }
    }

    func run() async throws {
        try await CLIErrors.reporting {
            let upcaster = upcast || upcasters != nil ? Upcaster(try UpcastOptions.rules(file: upcasters)) : nil
            let store = try await storeOptions.openStore()
            do {
                let reader = TieredEventReader(store: store, cold: try await coldSource(store))
                if let stream {
                    try await readStream(stream, reader, upcaster)
                } else {
                    try await readGlobal(reader, store, upcaster)
                }
                await store.close()
            } catch {
                await store.close()
                throw error
            }
        }
    }

    /// The archive, when the store pruned anything (then it must open) or when it can be opened (a follow may
    /// outlive a prune); nil otherwise.
    private func coldSource(_ store: any CoordinationStore) async throws -> ColdEventSource? {
        let archive: Archive
        if try await store.prunedThrough() > 0 {
            archive = try await ArchiveOpener.open(archiveOptions)
        } else if let opened = try? await ArchiveOpener.open(archiveOptions) {
            archive = opened
        } else {
            return nil
        }
        return ColdEventSource(archive: archive, keys: store, concurrency: 1)
    }

    private func readStream(_ stream: String, _ reader: TieredEventReader, _ upcaster: Upcaster?) async throws {
        var out: [UInt8] = []
        var remaining = limit ?? 1_000
        var version = from
        while remaining > 0 {
            let page = try await reader.readStream(stream, fromVersion: version, limit: min(remaining, 10_000)).events
            for e in page { try Self.write(e, to: &out, upcaster: upcaster) }
            remaining -= page.count
            if page.count < min(remaining + page.count, 10_000) || page.isEmpty { break }
            version = page.last!.version + 1
            FileHandle.standardOutput.write(Data(out))
            out.removeAll(keepingCapacity: true)
        }
        FileHandle.standardOutput.write(Data(out))
    }

    /// Pages through the global order (or one category of it); each page is written before the consumer's
    /// checkpoint moves past it, so a crash prints an event again rather than skipping it.
    private func readGlobal(
        _ reader: TieredEventReader, _ store: any CoordinationStore, _ upcaster: Upcaster?
    ) async throws {
        var position = after
        if let consumer, let stored = try await store.checkpoints().first(where: { $0.name == consumer }) {
            position = stored.position
        }
        var remaining = limit ?? (follow ? Int.max : 1_000)
        var out: [UInt8] = []
        while remaining > 0 {
            let want = min(remaining, 10_000)
            let page =
                if let category {
                    try await reader.readCategory(category, after: position, limit: want)
                } else {
                    try await reader.readAll(after: position, limit: want)
                }
            for e in page.events { try Self.write(e, to: &out, upcaster: upcaster) }
            FileHandle.standardOutput.write(Data(out))
            out.removeAll(keepingCapacity: true)
            remaining -= page.events.count
            let moved = page.scannedThrough > position
            position = page.scannedThrough
            if let consumer, moved { try await store.setCheckpoint(consumer, position: position) }
            if page.events.count < want {
                if !follow { break }
                if !moved || category == nil { try await store.waitForEvents(after: position, timeoutSeconds: 30) }
            }
        }
    }

    /// One event line; with an upcaster, the lines of the events it becomes (docs/REPLAY.md "Upcasting").
    static func write(_ e: RecordedEvent, to out: inout [UInt8], upcaster: Upcaster? = nil) throws {
        guard let upcaster else {
            EventJSON.write(e, to: &out)
            out.append(UInt8(ascii: "\n"))
            return
        }
        var line: [UInt8] = []
        EventJSON.write(e, to: &line)
        for event in try line.withUnsafeBytes({ try upcaster.upcast(rendered: $0) }) {
            out.append(contentsOf: event)
            out.append(UInt8(ascii: "\n"))
        }
    }
}
