import ArchiverCore
import Foundation

/// The bytes `archiver append` reads, taken as bytes: events are stored byte for byte, so input that is not
/// UTF-8 is refused (exit 65) with its place instead of being repaired into U+FFFD.
enum AppendInput {
    /// All of stdin.
    static func standardInput() -> [UInt8] {
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let count = chunk.withUnsafeMutableBytes { read(STDIN_FILENO, $0.baseAddress, $0.count) }
            if count < 0 && errno == EINTR { continue }
            guard count > 0 else { break }
            bytes.append(contentsOf: chunk[0..<count])
        }
        return bytes
    }

    /// The text of `--data`/`--metadata`: the argument itself, or with `@FILE` the file's bytes without
    /// surrounding whitespace.
    /// - Throws: ``ArchiverError`` `.invalidData` for bytes that are not UTF-8, `.invalidArgument` for a file
    ///   that cannot be read.
    static func text(_ value: String, option: String) throws -> String {
        guard value.hasPrefix("@") else { return value }
        let path = String(value.dropFirst())
        guard let data = FileManager.default.contents(atPath: path) else {
            throw ArchiverError(.invalidArgument, "\(option) @\(path): cannot read \(path): check the path")
        }
        let bytes = [UInt8](data)
        if let place = UTF8Validation.firstInvalid(bytes) {
            throw ArchiverError(
                .invalidData,
                "\(option) @\(path): invalid UTF-8 at line \(place.line), byte offset \(place.offset): send UTF-8 "
                    + "(events are stored byte for byte); nothing was appended")
        }
        let whitespace: Set<UInt8> = [0x20, 0x09, 0x0A, 0x0D]
        let start = bytes.firstIndex { !whitespace.contains($0) } ?? bytes.count
        let end = (bytes.lastIndex { !whitespace.contains($0) }).map { $0 + 1 } ?? start
        return String(decoding: bytes[start..<end], as: UTF8.self)
    }

    /// Refuses a command-line argument that is not UTF-8: the argument parser has already replaced its bad
    /// bytes with U+FFFD, so the raw `argv` is checked.
    /// - Throws: ``ArchiverError`` `.invalidData` naming the option the argument belongs to.
    static func checkArguments() throws {
        var previous: String?
        for index in 1..<Int(CommandLine.argc) {
            guard let pointer = CommandLine.unsafeArgv[index] else { continue }
            let raw = UnsafeRawBufferPointer(start: pointer, count: strlen(pointer))
            if let place = UTF8Validation.firstInvalid(raw) {
                let text = String(decoding: raw, as: UTF8.self)
                let option =
                    text.hasPrefix("--") ? String(text.prefix { $0 != "=" }) : previous ?? "argument \(index)"
                throw ArchiverError(
                    .invalidData,
                    "\(option): invalid UTF-8 at line \(place.line), byte offset \(place.offset): send UTF-8 "
                        + "(events are stored byte for byte); nothing was appended")
            }
            let text = String(decoding: raw, as: UTF8.self)
            previous = text.hasPrefix("--") ? text : nil
        }
    }
}
