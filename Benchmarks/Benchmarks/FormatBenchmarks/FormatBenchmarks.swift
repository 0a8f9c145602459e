import ArchiveFormat
import Benchmark
import RawJSON

/// Per-event hot paths: what flush does per event (encode + hash) and what replay does (decode + parse).
let sampleData = #"{"amount":1234.56,"currency":"EUR","reference":"9f1c2b3a4d5e6f70","memo":"payment for invoice 123456789","channel":"web","account":"account-42","seq":1}"#
let sampleMetadata = #"{"correlation_id":"5b2f8c9d0e1a2b3c4d5e6f708192a3b4","actor":"bench"}"#

func sampleLine() -> [UInt8] {
    var encoder = RecordEncoder(chain: .genesis)
    var line: [UInt8] = []
    encoder.encode(
        position: 123_456, stream: "account-42", version: 17, id: "5d0c6a3e-3f0b-4c55-9a59-0d4d3f6f5a11",
        type: "MoneyDeposited", recordedAtNanos: 1_795_421_886_594_116_860, data: sampleData, metadata: sampleMetadata,
        into: &line)
    return line
}

let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration = .init(metrics: [.throughput, .wallClock, .mallocCountTotal], maxDuration: .seconds(2))

    Benchmark("RecordEncoder.encode (line + SHA-256 chain link)", configuration: .init(scalingFactor: .kilo)) { benchmark in
        var encoder = RecordEncoder(chain: .genesis)
        var line: [UInt8] = []
        line.reserveCapacity(1024)
        for i in benchmark.scaledIterations {
            line.removeAll(keepingCapacity: true)
            encoder.encode(
                position: Int64(i), stream: "account-42", version: Int64(i), id: "5d0c6a3e-3f0b-4c55-9a59-0d4d3f6f5a11",
                type: "MoneyDeposited", recordedAtNanos: 1_795_421_886_594_116_860, data: sampleData,
                metadata: sampleMetadata, into: &line)
        }
        blackHole(line)
    }

    let line = sampleLine()
    Benchmark("RecordDecoder.decode", configuration: .init(scalingFactor: .kilo)) { benchmark in
        line.withUnsafeBytes { bytes in
            for _ in benchmark.scaledIterations { blackHole(try? RecordDecoder.decode(bytes)) }
        }
    }

    Benchmark("ChainHash.next over one record body", configuration: .init(scalingFactor: .kilo)) { benchmark in
        line.withUnsafeBytes { bytes in
            var chain = ChainHash.genesis
            for _ in benchmark.scaledIterations { chain = chain.next(body: bytes) }
            blackHole(chain)
        }
    }

    Benchmark("RawJSON.validate (event data)", configuration: .init(scalingFactor: .kilo)) { benchmark in
        for _ in benchmark.scaledIterations { blackHole(try? RawJSON.validate(sampleData)) }
    }

    Benchmark("JSONValue.parse + mergePatch (event data)", configuration: .init(scalingFactor: .kilo)) { benchmark in
        var state: JSONValue? = nil
        for _ in benchmark.scaledIterations {
            state = JSONValue.mergePatch(target: state, patch: try! JSONValue.parse(sampleData))
        }
        blackHole(state)
    }
}
