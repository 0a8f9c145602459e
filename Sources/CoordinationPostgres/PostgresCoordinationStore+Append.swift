public import Coordination
import Foundation

// EventLog, appends: validated requests committed alone or in groups (see ``GroupCommit``).
extension PostgresCoordinationStore {
    public func append(_ request: AppendRequest) async throws -> AppendResult {
        try await appendMultiple([request], idempotencyKey: request.idempotencyKey)[0]
    }

    public func appendMultiple(_ requests: [AppendRequest], idempotencyKey: String?) async throws -> [AppendResult] {
        let call = try AppendCall(requests, idempotencyKey: idempotencyKey, limits: options.limits)
        guard !requests.isEmpty else { return [] }
        return try await groups.submit(call) { group in await commitGroup(group) }
    }

    /// Commits a group of append calls: single-stream calls together in one `append_group` statement (one
    /// transaction, one commit), otherwise, or when that statement fails as a whole, each call on its own.
    private func commitGroup(_ group: [AppendCall]) async -> [Result<[AppendResult], any Error>] {
        var outcome: [Result<[AppendResult], any Error>] = []
        if group.count > 1, group.allSatisfy({ $0.requests.count == 1 }), let grouped = try? await appendGroup(group) {
            outcome = grouped
        } else {
            for call in group {
                do {
                    outcome.append(.success(try await appendAlone(call)))
                } catch {
                    outcome.append(.failure(error))
                }
            }
        }
        if outcome.contains(where: { (try? $0.get().last.map { !$0.replayed }) == true }) {
            waiter.appended()
            notifier.appended()
        }
        return outcome
    }

    /// One call in a statement of its own: `{{schema}}.append`, or `append_many` for several requests (each
    /// call is one statement, atomic on its own, so it runs without BEGIN/COMMIT: one round trip, not three).
    private func appendAlone(_ call: AppendCall) async throws -> [AppendResult] {
        try await autocommit("append") { db in
            do {
                if call.requests.count == 1 {
                    return [
                        try callAppend(
                            db, call.requests[0], call.validated[0], key: call.idempotencyKey, hash: call.requestHash)
                    ]
                }
                return try callAppendMany(
                    db, call.requests, call.validated, key: call.idempotencyKey, hash: call.requestHash)
            } catch let error as PostgresServerError where error.sqlstate == "AR002" {
                throw StoreRules.idempotencyConflict(key: call.idempotencyKey ?? "")
            }
        }
    }

    /// Single-stream calls in one `{{schema}}.append_group` statement, sent in stream-name order (so that two
    /// groups lock stream rows in the same order); each call's result or conflict comes back in its own row.
    private func appendGroup(_ group: [AppendCall]) async throws -> [Result<[AppendResult], any Error>] {
        let order = group.indices.sorted { (group[$0].requests[0].stream, $0) < (group[$1].requests[0].stream, $1) }
        let calls = order.map { group[$0] }
        let events = calls.flatMap { $0.validated[0] }
        let schema = self.schema
        let rows = try await autocommit("append") { db in
            try db.prepared(
                "SELECT out_index, out_result, out_replayed, out_error, out_detail FROM \(schema).append_group("
                    + "$1::text[], $2::text[], $3::text[], $4::text[], $5::integer[], $6::uuid[], $7::text[], "
                    + "$8::json[], $9::json[])",
                [
                    Self.arrayLiteral(calls.map(\.requests[0].stream)),
                    Self.arrayLiteral(calls.map(\.requests[0].expected.description)),
                    Self.arrayLiteral(optionals: calls.map(\.idempotencyKey)),
                    Self.arrayLiteral(optionals: calls.map(\.requestHash)),
                    Self.arrayLiteral(calls.map { String($0.validated[0].count) }),
                    Self.arrayLiteral(events.map { $0.id!.lowercased() }), Self.arrayLiteral(events.map(\.type)),
                    Self.arrayLiteral(events.map(\.data)), Self.arrayLiteral(events.map(\.metadata)),
                ])
        }
        guard rows.count == group.count else {
            throw CoordinationError(.queryFailed, "the append_group function returned \(rows.count) results")
        }
        var results = [Result<[AppendResult], any Error>](repeating: .success([]), count: group.count)
        for row in 0..<rows.count {
            let index = order[Int(rows.int64(row, 0)) - 1]
            results[index] = Result { try Self.groupResult(rows, row, call: group[index]) }
        }
        return results
    }

    /// One call's row of `append_group`: its result, or its wrong expected version or idempotency conflict.
    private static func groupResult(_ rows: PostgresRows, _ row: Int, call: AppendCall) throws -> [AppendResult] {
        switch rows.optionalString(row, 3) {
        case nil:
            guard var result = try AppendResult.decodeArray(rows.string(row, 1)).first else {
                throw CoordinationError(.queryFailed, "the append_group function returned no result for a call")
            }
            result.replayed = rows.bool(row, 2)
            return [result]
        case "AR001":
            throw wrongExpectedVersion(detail: rows.optionalString(row, 4), call.requests[0])
        default:
            throw StoreRules.idempotencyConflict(key: call.idempotencyKey ?? "")
        }
    }

    /// Calls `{{schema}}.append_many` for several requests; maps its conflict error to `.wrongExpectedVersion`
    /// for the request it names.
    private func callAppendMany(
        _ db: PostgresConnection, _ requests: [AppendRequest], _ validated: [[ProposedEvent]], key: String?,
        hash: String?
    ) throws -> [AppendResult] {
        let events = validated.joined()
        let rows: PostgresRows
        do {
            rows = try db.prepared(
                "SELECT out_result, out_replayed FROM \(schema).append_many($1::text[], $2::text[], $3::integer[], "
                    + "$4, $5, $6::uuid[], $7::text[], $8::json[], $9::json[])",
                [
                    Self.arrayLiteral(requests.map(\.stream)), Self.arrayLiteral(requests.map(\.expected.description)),
                    Self.arrayLiteral(validated.map { String($0.count) }), key, hash,
                    Self.arrayLiteral(events.map { $0.id!.lowercased() }), Self.arrayLiteral(events.map(\.type)),
                    Self.arrayLiteral(events.map(\.data)), Self.arrayLiteral(events.map(\.metadata)),
                ])
        } catch let error as PostgresServerError where error.sqlstate == "AR001" {
            let index = Int(error.hint ?? "").flatMap { requests.indices.contains($0) ? $0 : nil } ?? 0
            throw Self.wrongExpectedVersion(detail: error.detail, requests[index])
        }
        let results = try AppendResult.decodeArray(rows.string(0, 0))
        guard rows.count == 1, results.count == requests.count else {
            throw CoordinationError(.queryFailed, "the append_many function returned \(results.count) results")
        }
        let replayed = rows.bool(0, 1)
        return results.map {
            var result = $0
            result.replayed = replayed
            return result
        }
    }

    /// The `.wrongExpectedVersion` error for the append functions' `AR001` (`detail` = the stream's actual
    /// version) on `request`.
    private static func wrongExpectedVersion(detail: String?, _ request: AppendRequest) -> any Error {
        let actual = Int64(detail ?? "") ?? 0
        do {
            try AppendValidation.check(request.expected, actual: actual, stream: request.stream)
        } catch {
            return error
        }
        return CoordinationError(
            .wrongExpectedVersion, "wrong expected version for stream '\(request.stream)'", actualVersion: actual,
            stream: request.stream)
    }

    /// Calls `{{schema}}.append` for one stream; maps its conflict error to `.wrongExpectedVersion`.
    private func callAppend(
        _ db: PostgresConnection, _ request: AppendRequest, _ events: [ProposedEvent], key: String?, hash: String?
    ) throws -> AppendResult {
        let rows: PostgresRows
        do {
            rows = try db.prepared(
                "SELECT out_result, out_replayed FROM \(schema).append($1, $2, $3, $4, $5::uuid[], $6::text[], "
                    + "$7::json[], $8::json[])",
                [
                    request.stream, request.expected.description, key, hash,
                    Self.arrayLiteral(events.map { $0.id!.lowercased() }), Self.arrayLiteral(events.map(\.type)),
                    Self.arrayLiteral(events.map(\.data)), Self.arrayLiteral(events.map(\.metadata)),
                ])
        } catch let error as PostgresServerError where error.sqlstate == "AR001" {
            throw Self.wrongExpectedVersion(detail: error.detail, request)
        }
        guard rows.count == 1, let result = try AppendResult.decodeArray(rows.string(0, 0)).first else {
            throw CoordinationError(.queryFailed, "the append function returned no result")
        }
        var appended = result
        appended.replayed = rows.bool(0, 1)
        return appended
    }

    /// A PostgreSQL array literal of quoted elements: `{"a","b\"c"}`. The server unescapes it, so each
    /// element arrives byte for byte.
    static func arrayLiteral(_ items: [String]) -> String {
        arrayLiteral(optionals: items)
    }

    /// ``arrayLiteral(_:)`` with SQL NULL (an unquoted `NULL`) for nil elements.
    static func arrayLiteral(optionals items: [String?]) -> String {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(items.reduce(2) { $0 + ($1?.utf8.count ?? 4) + 3 })
        bytes.append(UInt8(ascii: "{"))
        for (index, item) in items.enumerated() {
            if index > 0 { bytes.append(UInt8(ascii: ",")) }
            guard let item else {
                bytes.append(contentsOf: "NULL".utf8)
                continue
            }
            bytes.append(UInt8(ascii: "\""))
            for byte in item.utf8 {
                // Only ASCII quote and backslash are escaped; UTF-8 continuation bytes never equal them.
                if byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\") { bytes.append(UInt8(ascii: "\\")) }
                bytes.append(byte)
            }
            bytes.append(UInt8(ascii: "\""))
        }
        bytes.append(UInt8(ascii: "}"))
        return String(decoding: bytes, as: UTF8.self)
    }
}

extension AppendResult {
    /// Decodes the JSON array stored with an idempotency key (or returned by the append function).
    static func decodeArray(_ text: String) throws -> [AppendResult] {
        try AppendResult.decodeArray(json: text)
    }
}
