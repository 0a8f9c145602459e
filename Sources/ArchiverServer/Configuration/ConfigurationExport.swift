// The server's API speaks `ServerConfiguration`, `APITokenEntry` and `ConfigError`, which live in the
// configuration module; re-exported so that `import ArchiverServer` keeps giving them to its users.
@_exported public import ArchiverConfiguration

/// The settings of `archiver serve`; named here so that it wins over Hummingbird's `ServerConfiguration` in this
/// module and in every module that imports both.
public typealias ServerConfiguration = ArchiverConfiguration.ServerConfiguration
