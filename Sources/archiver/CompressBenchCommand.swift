import ArgumentParser
import Foundation
import Zstd

/// `archiver compress-bench`: compresses a file with the zstd wrapper on one thread, streaming, the way the
/// flusher does; `make bench` times it next to the zstd CLI.
struct CompressBenchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "compress-bench",
        abstract: "Compress FILE into OUT with the built-in zstd wrapper (one thread, streaming); for benchmarks.",
        shouldDisplay: false)

    @Option(help: "zstd level.") var level: Int32 = 3
    @Argument(help: "Input file.") var input: String
    @Argument(help: "Output file.") var output: String

    func run() async throws {
        guard let source = FileHandle(forReadingAtPath: input) else { throw ValidationError("cannot read \(input)") }
        guard FileManager.default.createFile(atPath: output, contents: nil),
            let sink = FileHandle(forWritingAtPath: output)
        else { throw ValidationError("cannot write \(output)") }
        let compressor = try ZstdCompressor(level: level, checksum: true)
        var packed: [UInt8] = []
        packed.reserveCapacity(1 << 20)
        var total = 0
        while true {
            let chunk = try source.read(upToCount: 1 << 20) ?? Data()
            if chunk.isEmpty { break }
            total += chunk.count
            try chunk.withUnsafeBytes { try compressor.compress($0, into: &packed) }
            if packed.count >= 1 << 20 {
                try sink.write(contentsOf: packed)
                packed.removeAll(keepingCapacity: true)
            }
        }
        try compressor.finish(into: &packed)
        try sink.write(contentsOf: packed)
        try sink.close()
        print("compressed \(total) bytes")
    }
}
