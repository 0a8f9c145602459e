// A small event-sourced app in Swift that keeps its events in the archiver sidecar over HTTP.
//
// Bank accounts: open (the stream must not exist), deposit, withdraw (refused below zero). Every command
// reads the account's events, decides, and appends with the version it read (Expected-Version); on 409 it
// re-reads and decides again. Each command carries an Idempotency-Key, and a retry after a lost response
// sends the same key, so it is never applied twice.
//
//   swift run -c release bank-sidecar-example --url http://127.0.0.1:8080 [--token TOKEN] [--tellers 4]
import Foundation

#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

struct Sidecar: Sendable {
    var url: String
    var token: String?

    struct Conflict: Error { var actualVersion: Int }
    struct Failure: Error, CustomStringConvertible { var description: String }

    func call(
        _ method: String, _ path: String, body: Any? = nil, headers: [String: String] = [:]
    ) async throws
        -> (status: Int, json: [String: Any], headers: [AnyHashable: Any])
    {
        var request = URLRequest(url: URL(string: url + path)!)
        request.httpMethod = method
        if let body { request.httpBody = try JSONSerialization.data(withJSONObject: body) }
        request.setValue("application/json", forHTTPHeaderField: "Content-Type")
        if let token { request.setValue("Bearer \(token)", forHTTPHeaderField: "Authorization") }
        for (name, value) in headers { request.setValue(value, forHTTPHeaderField: name) }
        let (data, response) = try await URLSession.shared.data(for: request)
        let http = response as! HTTPURLResponse
        let json = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] ?? [:]
        return (http.statusCode, json, http.allHeaderFields)
    }

    /// The account's events and version (0: not opened), page by page: one page holds at most `limit` events.
    func read(_ account: String) async throws -> (events: [[String: Any]], version: Int) {
        var events: [[String: Any]] = []
        var from = 1
        while true {
            let (status, json, _) = try await call("GET", "/streams/\(account)?from=\(from)&limit=1000")
            if status == 404 { return ([], 0) }
            guard status == 200 else { throw Failure(description: "read \(account): \(status) \(json)") }
            let page = json["events"] as? [[String: Any]] ?? []
            events += page
            guard !page.isEmpty, let next = json["next_version"] as? Int else {
                return (events, json["version"] as? Int ?? 0)
            }
            from = next
        }
    }

    /// Appends with an expectation and a key; a lost response is retried with the same key.
    func append(_ account: String, _ event: [String: Any], expected: String, key: String) async throws -> Bool {
        for attempt in 1...3 {
            do {
                let (status, json, headers) = try await call(
                    "POST", "/streams/\(account)/events", body: event,
                    headers: ["Expected-Version": expected, "Idempotency-Key": key])
                switch status {
                case 201: return (headers["Idempotent-Replayed"] as? String) == "true"
                case 409: throw Conflict(actualVersion: json["actual_version"] as? Int ?? 0)
                default: throw Failure(description: "append to \(account): \(status) \(json)")
                }
            } catch let error as URLError where attempt < 3 {
                _ = error
            }
        }
        throw Failure(description: "append to \(account): no response")
    }
}

/// The account's state, folded from its events.
func balance(_ events: [[String: Any]]) -> Int {
    events.reduce(0) { $0 + (($1["data"] as? [String: Any])?["amount"] as? Int ?? 0) }
}

enum Command { case deposit(Int), withdraw(Int) }

/// Read, decide, append with the version read; on a conflict, decide again on fresh state.
func execute(_ command: Command, on account: String, sidecar: Sidecar) async throws -> (applied: Bool, retries: Int) {
    var retries = 0
    while true {
        let (events, version) = try await sidecar.read(account)
        let event: [String: Any]
        switch command {
        case .deposit(let amount): event = ["type": "Deposited", "data": ["amount": amount]]
        case .withdraw(let amount):
            guard balance(events) >= amount else { return (false, retries) }
            event = ["type": "Withdrawn", "data": ["amount": -amount]]
        }
        do {
            _ = try await sidecar.append(account, event, expected: String(version), key: UUID().uuidString)
            return (true, retries)
        } catch is Sidecar.Conflict {
            retries += 1
        }
    }
}

let arguments = CommandLine.arguments
func option(_ name: String) -> String? {
    arguments.firstIndex(of: name).flatMap { $0 + 1 < arguments.count ? arguments[$0 + 1] : nil }
}
let sidecar = Sidecar(url: option("--url") ?? "http://127.0.0.1:8080", token: option("--token"))
let tellers = Int(option("--tellers") ?? "4") ?? 4
let account = "account-" + UUID().uuidString.prefix(8).lowercased()

// Open once: a second open conflicts.
_ = try await sidecar.append(
    account, ["type": "Opened", "data": ["amount": 0]], expected: "no-stream", key: "open-\(account)")
do {
    _ = try await sidecar.append(
        account, ["type": "Opened", "data": ["amount": 0]], expected: "no-stream", key: "reopen")
    throw Sidecar.Failure(description: "a second open was accepted")
} catch let conflict as Sidecar.Conflict {
    precondition(conflict.actualVersion == 1)
}
// The same command twice (a retry after a lost response): applied once.
let salary: [String: Any] = ["type": "Deposited", "data": ["amount": 1_000]]
let firstReplayed = try await sidecar.append(account, salary, expected: "1", key: "salary-\(account)")
let secondReplayed = try await sidecar.append(account, salary, expected: "1", key: "salary-\(account)")
precondition(!firstReplayed && secondReplayed)

// Tellers race on the same account; expected versions keep every decision on current state.
let outcomes = try await withThrowingTaskGroup(of: (Bool, Int).self) { group in
    for teller in 0..<tellers {
        group.addTask {
            var applied = 0
            var retries = 0
            for i in 0..<10 {
                let command: Command = (teller + i) % 2 == 0 ? .deposit(10) : .withdraw(400)
                let outcome = try await execute(command, on: account, sidecar: sidecar)
                applied += outcome.applied ? 1 : 0
                retries += outcome.retries
            }
            return (applied > 0, retries)
        }
    }
    var all: [(Bool, Int)] = []
    for try await outcome in group { all.append(outcome) }
    return all
}
let (events, version) = try await sidecar.read(account)
precondition(balance(events) >= 0, "the balance went below zero")
print(
    #"{"account":"\#(account)","version":\#(version),"balance":\#(balance(events)),"#
        + #""conflicts_retried":\#(outcomes.map(\.1).reduce(0, +)),"idempotent_replay":\#(secondReplayed)}"#)
