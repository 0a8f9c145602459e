public import ArchiverCore
import Crypto
import Foundation

/// What the operator console keeps in memory for one server: the chart samples, the log ring, the cached
/// archive sizes and drill result, and the key its CSRF tokens are derived with.
public final class ConsoleState: Sendable {
    let samples: SampleRing
    let log: LogRing
    let sizes: ArchiveSizes
    let lastDrill: LastDrill
    /// Random per process: CSRF tokens die with the process, which also ends every console session's forms.
    let csrfKeyBytes: [UInt8]

    var csrfKey: SymmetricKey { SymmetricKey(data: csrfKeyBytes) }

    public init(archive: Archive) {
        samples = SampleRing()
        log = LogRing()
        sizes = ArchiveSizes(archive: archive)
        lastDrill = LastDrill(archive: archive)
        var generator = SystemRandomNumberGenerator()
        csrfKeyBytes = (0..<32).map { _ in UInt8.random(in: 0...255, using: &generator) }
    }
}
