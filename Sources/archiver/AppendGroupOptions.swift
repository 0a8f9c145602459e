import ArchiverConfiguration
import ArgumentParser
import Coordination

/// `--append-group-max`, `--append-group-wait`: how concurrent appends share commits. Only the commands that
/// append (`serve`, `append`) take them.
struct AppendGroupOptions: ParsableArguments {
    @Option(help: ConfigKeys.appendGroupMax.help(valueName: "calls"))
    var appendGroupMax: String?

    @Option(help: ConfigKeys.appendGroupWait.help(valueName: "s"))
    var appendGroupWait: String?

    /// Group commit after applying the environment, the file and the defaults.
    func groupCommit() throws -> GroupCommit {
        GroupCommit(
            maxCalls: try CLIConfig.value(ConfigKeys.appendGroupMax, flag: appendGroupMax),
            maxWaitSeconds: try CLIConfig.value(ConfigKeys.appendGroupWait, flag: appendGroupWait))
    }
}
