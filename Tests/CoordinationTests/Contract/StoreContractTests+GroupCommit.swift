import Coordination
import CoordinationSQLite
import Foundation
import TestSupport
import Testing

@testable import CoordinationPostgres
@testable import CoordinationSQLite

/// One call of the group-commit test and what serial execution gives it.
private struct GroupCase: Sendable {
    enum Expect: Sendable, Equatable {
        case appended(version: Int64)
        case replayedOriginal
        case oneOfPairWins(pair: String)
        case conflict(CoordinationError.Code)
    }

    let request: AppendRequest
    let expect: Expect
}

/// What one call got.
private enum GroupOutcome: Sendable {
    case success(AppendResult)
    case failure(CoordinationError.Code?, actualVersion: Int64?)
}

extension StoreContractTests {
    /// 44 calls at once through one store: good appends, pairs racing to create a stream, right and wrong
    /// expectations, repeats of a known and of a new idempotency key, and a reused key with another request.
    /// Every call gets what running the calls one by one would give it, and the store commits them in far fewer
    /// transactions than calls (SQLite: its commit hook; PostgreSQL: `xact_commit` of a database of its own).
    @Test(arguments: Backend.available)
    func concurrentAppendsShareCommitsAndEachKeepsItsOwnResult(backend: Backend) async throws {
        try await withGroupCommitStore(backend) { store, countCommits, reopen in
            let known = AppendRequest(
                stream: "i-known", idempotencyKey: "known", events: [event(id: "00000000-0000-4000-8000-000000000001")])
            let original = try await store.append(known)
            _ = try await store.append(AppendRequest(stream: "pre-1", expected: .noStream, events: [event()]))
            let cases = Self.groupCases(known: known)
            let commits = try await countCommits()
            let outcomes = try await Self.runConcurrently(cases, on: store)
            let used = try await commits()
            try Self.checkSerialEquivalence(cases, outcomes, original: original)
            try await Self.checkStoredEvents(try await reopen(), outcomes, setupEvents: 2)
            // One commit per call would be 43 or more. PostgreSQL's count also holds the notifier's one `NOTIFY`,
            // the counting session's query and the setup's commits (sessions report their counts late).
            #expect(used >= 1 && used <= cases.count / 3, "\(used) commits for \(cases.count) calls")
        }
    }

    /// With `append-group-max` 1 (``GroupCommit/maxCalls`` 1) 24 concurrent appends commit one by one:
    /// at least one commit per appending call, and on SQLite exactly one.
    @Test(arguments: Backend.available)
    func maxCallsOneCommitsEachAppendAlone(backend: Backend) async throws {
        let alone = GroupCommit(maxCalls: 1, maxWaitSeconds: 0.02)
        try await withGroupCommitStore(backend, alone) { store, countCommits, _ in
            let requests = (0..<24).map { AppendRequest(stream: "alone-\($0)", expected: .noStream, events: [event()]) }
            let commits = try await countCommits()
            let progress = CompletionCounter()
            let results = try await withoutStalling(
                progress, total: requests.count, state: { await groupState(store) }
            ) {
                try await withThrowingTaskGroup(of: AppendResult.self) { group in
                    for request in requests {
                        group.addTask {
                            defer { progress.advance() }
                            return try await store.append(request)
                        }
                    }
                    return try await group.reduce(into: []) { $0.append($1) }
                }
            }
            let used = try await commits()
            #expect(Set(results.map(\.stream)) == Set(requests.map(\.stream)))
            #expect(results.allSatisfy { $0.lastVersion == 1 && !$0.replayed })
            if backend == .sqlite {
                #expect(used == requests.count, "\(used) commits for \(requests.count) calls")
            } else {
                // The count also holds the notifier's one `NOTIFY` and the counting session's query.
                #expect(used >= requests.count && used <= requests.count + 12, "\(used) commits")
            }
        }
    }

    private static func groupCases(known: AppendRequest) -> [GroupCase] {
        var cases: [GroupCase] = []
        for index in 0..<16 {
            cases.append(
                .init(
                    request: .init(stream: "g-\(index)", expected: .noStream, events: [event()]),
                    expect: .appended(version: 1)))
        }
        for pair in 0..<8 {
            for _ in 0..<2 {
                cases.append(
                    .init(
                        request: .init(stream: "x-\(pair)", expected: .noStream, events: [event(), event()]),
                        expect: .oneOfPairWins(pair: "x-\(pair)")))
            }
        }
        cases.append(
            .init(
                request: .init(stream: "pre-1", expected: .exact(7), events: [event()]),
                expect: .conflict(.wrongExpectedVersion)))
        cases.append(
            .init(
                request: .init(stream: "pre-2", expected: .exact(1), events: [event()]),
                expect: .conflict(.wrongExpectedVersion)))
        for _ in 0..<3 { cases.append(.init(request: known, expect: .replayedOriginal)) }
        for index in 0..<2 {
            let other = AppendRequest(stream: "i-other-\(index)", idempotencyKey: "known", events: [event()])
            cases.append(.init(request: other, expect: .conflict(.idempotencyConflict)))
        }
        let fresh = AppendRequest(
            stream: "i-fresh", idempotencyKey: "fresh", events: [event(id: "00000000-0000-4000-8000-000000000002")])
        for _ in 0..<2 { cases.append(.init(request: fresh, expect: .oneOfPairWins(pair: "fresh"))) }
        cases.append(.init(request: .init(stream: "bad-1", events: [event("")]), expect: .conflict(.invalidInput)))
        cases.append(
            .init(
                request: .init(stream: "g-extra", events: [event(), event(), event()]), expect: .appended(version: 3)))
        return cases
    }

    private static func runConcurrently(
        _ cases: [GroupCase], on store: any CoordinationStore
    ) async throws
        -> [GroupOutcome]
    {
        let progress = CompletionCounter()
        return try await withoutStalling(progress, total: cases.count, state: { await groupState(store) }) {
            await withTaskGroup(of: (Int, GroupOutcome).self) { group in
                for (index, item) in cases.enumerated() {
                    group.addTask {
                        defer { progress.advance() }
                        do {
                            return (index, .success(try await store.append(item.request)))
                        } catch let error as CoordinationError {
                            return (index, .failure(error.code, actualVersion: error.actualVersion))
                        } catch {
                            return (index, .failure(nil, actualVersion: nil))
                        }
                    }
                }
                var outcomes = [GroupOutcome](repeating: .failure(nil, actualVersion: nil), count: cases.count)
                for await (index, outcome) in group { outcomes[index] = outcome }
                return outcomes
            }
        }
    }

    private static func checkSerialEquivalence(
        _ cases: [GroupCase], _ outcomes: [GroupOutcome], original: AppendResult
    ) throws {
        var pairs: [String: [GroupOutcome]] = [:]
        for (item, outcome) in zip(cases, outcomes) {
            switch (item.expect, outcome) {
            case (.appended(let version), .success(let result)):
                #expect(result.lastVersion == version && !result.replayed, "\(item.request.stream)")
            case (.replayedOriginal, .success(let result)):
                #expect(result.replayed && result.firstPosition == original.firstPosition)
                #expect(result.eventIDs == original.eventIDs)
            case (.oneOfPairWins(let pair), _):
                pairs[pair, default: []].append(outcome)
            case (.conflict(let code), .failure(let got, _)):
                #expect(got == code, "\(item.request.stream)")
            default:
                Issue.record("\(item.request.stream): expected \(item.expect), got \(outcome)")
            }
        }
        for (stream, outcomes) in pairs where stream.hasPrefix("x-") {
            let winners = outcomes.compactMap { if case .success(let result) = $0 { result } else { nil } }
            #expect(winners.count == 1 && winners[0].lastVersion == 2, "\(stream): \(outcomes)")
            let losers = outcomes.filter { if case .failure(.wrongExpectedVersion, 2) = $0 { true } else { false } }
            #expect(losers.count == 1, "\(stream): \(outcomes)")
        }
        let fresh = (pairs["fresh"] ?? []).compactMap { if case .success(let result) = $0 { result } else { nil } }
        try #require(fresh.count == 2, "both repeats of a new key succeed")
        #expect(fresh.filter(\.replayed).count == 1)
        #expect(fresh[0].firstPosition == fresh[1].firstPosition && fresh[0].eventIDs == fresh[1].eventIDs)
    }

    /// The log holds exactly the events of the calls that appended (not replayed), at their positions.
    private static func checkStoredEvents(
        _ store: any CoordinationStore, _ outcomes: [GroupOutcome], setupEvents: Int
    ) async throws {
        let appended = outcomes.compactMap {
            if case .success(let result) = $0, !result.replayed { result } else { nil }
        }
        let mark = try await settledMark(store, atLeast: 1)
        let stored = try await store.readAll(after: 0, limit: 1000)
        #expect(stored.last?.position == mark)
        #expect(stored.count == setupEvents + appended.reduce(0) { $0 + $1.eventIDs.count })
        let byID = Dictionary(uniqueKeysWithValues: stored.map { ($0.id, $0) })
        for result in appended {
            let events = result.eventIDs.compactMap { byID[$0.lowercased()] }
            #expect(events.map(\.stream) == Array(repeating: result.stream, count: result.eventIDs.count))
            #expect(events.map(\.position) == Array(result.firstPosition...result.lastPosition))
            #expect(events.map(\.version) == Array(result.firstVersion...result.lastVersion))
        }
    }
}

/// A store of `backend` that gathers up to 64 calls and waits 20 ms for them (or as `group` says), with a way to count its commits
/// (`countCommits()` starts counting and returns the function that reads the count; on PostgreSQL reading
/// closes the store) and a store to check the data with afterwards (`reopen()`).
private func withGroupCommitStore(
    _ backend: Backend, _ group: GroupCommit = GroupCommit(maxCalls: 64, maxWaitSeconds: 0.02),
    _ body: (
        any CoordinationStore, () async throws -> () async throws -> Int, () async throws -> any CoordinationStore
    ) async throws -> Void
) async throws {
    switch backend {
    case .sqlite:
        let fixture = try StoreFixture()
        defer { fixture.remove() }
        var options = SQLiteCoordinationStore.Options()
        options.groupCommit = group
        let store = try await SQLiteCoordinationStore(path: fixture.path, options: options)
        try await store.migrate()
        try await body(
            store,
            {
                try await store.countCommitsForTesting()
                return { try await store.commitsForTesting() }
            }, { store })
        await store.close()
    case .postgres:
        try await withScratchDatabase { url in
            var options = PostgresCoordinationStore.Options()
            options.groupCommit = group
            // One NOTIFY at the first append, the next not before the store closes: the commit counts below
            // hold the appends, not the notifier's pace.
            options.notifyIntervalSeconds = 3600
            let store = try await PostgresCoordinationStore(url: url, options: options)
            try await store.migrate()
            let checker = try await PostgresCoordinationStore(url: url)
            try await body(
                store,
                {
                    let before = try commitsCounted(url)
                    // Closing ends the store's sessions, which then report their counts.
                    return {
                        await store.close()
                        try await Task.sleep(for: .milliseconds(1500))
                        return try commitsCounted(url) - before
                    }
                }, { checker })
            await store.close()
            await checker.close()
        }
    }
}

/// What `store`'s group commit is doing (leading or idle, calls waiting), for a stall's failure message.
private func groupState(_ store: any CoordinationStore) async -> String {
    if let store = store as? SQLiteCoordinationStore { return await store.groups.description }
    if let store = store as? PostgresCoordinationStore { return await store.groups.description }
    return "\(type(of: store))"
}

/// `pg_stat_database.xact_commit` of the database at `url`, less the counting session's own transaction.
private func commitsCounted(_ url: String) throws -> Int {
    let connection = try PostgresConnection(url: url)
    return Int(
        try connection.query("SELECT xact_commit FROM pg_stat_database WHERE datname = current_database()").int64(0, 0))
}

/// A database of its own on the test server, so that its commit count is this test's alone.
private func withScratchDatabase(_ body: (String) async throws -> Void) async throws {
    let url = try #require(TestServices.postgresURL)
    let name = "g_" + UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: "").prefix(16)
    let admin = try PostgresConnection(url: url)
    try admin.execute("CREATE DATABASE \(name)")
    defer { _ = try? admin.execute("DROP DATABASE IF EXISTS \(name) WITH (FORCE)") }
    let base = try #require(url.range(of: "/", options: .backwards))
    try await body(url[..<base.lowerBound] + "/" + name)
}
