import ArchiveFormat
import RawJSON

/// Which of N fold workers owns a stream. Per-stream state is independent, so a fold split by stream gives the
/// same rows as one fold over every stream.
enum StreamPartition {
    /// The worker of the stream whose ``StreamHash/fnv1a64(bytes:)`` is `hash`, among `workers`.
    static func worker(of hash: UInt64, among workers: Int) -> Int {
        guard workers > 1 else { return 0 }
        // FNV-1a's low bits follow the name's last byte closely: mix first, as ``StreamTable`` does.
        return Int(StreamHash.fmix64(hash) % UInt64(workers))
    }

    /// The worker of stream `name`.
    static func worker(ofStream name: String, among workers: Int) -> Int {
        var name = name
        return name.withUTF8 { worker(of: StreamHash.fnv1a64(bytes: UnsafeRawBufferPointer($0)), among: workers) }
    }

    /// The worker of a saved row (`{"stream":…}`); worker 0 for a row without a stream, whose restore then
    /// names the problem.
    static func worker(ofRow json: String, among workers: Int) -> Int {
        var json = json
        let stream: String? = json.withUTF8 { bytes in
            guard var scanner = try? ObjectScanner(UnsafeRawBufferPointer(bytes)) else { return nil }
            while let member = try? scanner.next() {
                if scanner.key(member, equals: "stream") { return scanner.string(member) }
            }
            return nil
        }
        return stream.map { worker(ofStream: $0, among: workers) } ?? 0
    }
}
