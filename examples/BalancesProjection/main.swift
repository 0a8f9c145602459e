// A read model rebuilt from the archive with the Swift Projection API.
//
//   swift run -c release balances-example ./archive [cut]
//
// It replays every MoneyDeposited / MoneyWithdrawn event of `account-*` streams up to the cut (default:
// latest) and prints the five largest balances.
import ArchiverCore
import Foundation
import Lode
import RawJSON

struct Balances: Projection {
    var identity: ProjectionIdentity { ProjectionIdentity(name: "balances", version: "1") }
    var balances: [String: Double] = [:]

    mutating func apply(_ event: ReplayEvent) throws {
        guard event.type == "MoneyDeposited" || event.type == "MoneyWithdrawn" else { return }
        // Pull one field out of the event's JSON without building a tree.
        var scanner = try ObjectScanner(event.data)
        while let member = try scanner.next() {
            if scanner.key(member, equals: "amount") {
                balances[event.stream, default: 0] += scanner.double(member) ?? 0
            }
        }
    }

    func rows() throws -> [ProjectedRow] {
        balances.keys.sorted().map { ProjectedRow(key: $0, json: #"{"stream":"\#($0)","balance":\#(balances[$0]!)}"#) }
    }

    mutating func restore(rows: [ProjectedRow]) throws {
        balances = [:]
        for row in rows {
            var json = row.json
            try json.withUTF8 { bytes in
                var scanner = try ObjectScanner(UnsafeRawBufferPointer(bytes))
                var stream: String?
                var balance: Double?
                while let member = try scanner.next() {
                    if scanner.key(member, equals: "stream") { stream = scanner.string(member) }
                    if scanner.key(member, equals: "balance") { balance = scanner.double(member) }
                }
                if let stream, let balance { balances[stream] = balance }
            }
        }
    }
}

func main() async throws {
    let arguments = CommandLine.arguments
    let root = arguments.count > 1 ? arguments[1] : "./archive"
    let cut = arguments.count > 2 ? arguments[2] : "latest"
    let archive = try await Archive.open(store: FileStore(root: root))
    let plan = try await archive.plan(to: CutSelector(parsing: cut))
    var projection = Balances()
    let replayer = Replayer(archive: archive, filter: ReplayFilter(categories: ["account"]))
    let stats = try await replayer.run(&projection, plan: plan)
    print("replayed \(stats.applied) events to \(plan.selector) (position \(plan.lastPosition))")
    for (stream, balance) in projection.balances.sorted(by: { $0.value > $1.value }).prefix(5) {
        print("\(stream)  \((balance * 100).rounded() / 100)")
    }
}

try await main()
