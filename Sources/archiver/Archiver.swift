import ArgumentParser

@main
struct Archiver: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "archiver",
        abstract: "Cold storage for event-sourced systems: append, flush to a Lode archive, replay, verify.",
        version: ArchiverVersion.current,
        subcommands: [LodeCommand.self]
    )
}

enum ArchiverVersion {
    static let current = "0.1.0"
}
