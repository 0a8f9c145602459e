/// The rules both stores enforce, with their error texts, in one place. Each backend reads the rows a rule
/// needs (inside its own transaction, with its own locking) and asks the rule; the rule decides and words
/// the refusal, so SQLite and PostgreSQL refuse the same things with the same message.
public enum StoreRules {
    // MARK: Store state

    /// A store whose migrations have not run.
    public static func notInitialised() -> CoordinationError {
        CoordinationError(.queryFailed, "the store is not initialised: run `archiver init` first")
    }

    /// A call after ``StoreLifecycle/close()``.
    public static func closed() -> CoordinationError {
        CoordinationError(.closed, "the store was closed")
    }

    // MARK: Appends

    /// The same idempotency key sent earlier with a different request.
    public static func idempotencyConflict(key: String) -> CoordinationError {
        CoordinationError(
            .idempotencyConflict,
            "idempotency key '\(key.prefix(255))' was already used for a different request; use a new key for a "
                + "new request")
    }

    // MARK: Flush ledger

    /// Fencing: an intent's token must be the flush lease's current token (nil: no lease row).
    public static func checkFence(_ token: Int64, current: Int64?) throws {
        guard current == token else {
            throw CoordinationError(
                .fenced, "this flusher's lease (token \(token)) was taken over by another flusher; stopping")
        }
    }

    /// One pending intent at a time.
    public static func checkNoPendingIntent(_ pending: FlushIntent?) throws {
        if let pending {
            throw CoordinationError(
                .intentExists, "flush intent for snapshot \(pending.snapshotID) is still pending; finish it first")
        }
    }

    /// Completing a flush needs its own intent still pending.
    public static func checkIntentPending(_ intent: FlushIntent, pending: FlushIntent?) throws {
        guard let pending, pending.snapshotID == intent.snapshotID else {
            throw CoordinationError(.fenced, "flush intent \(intent.snapshotID) is no longer pending")
        }
    }

    /// Refuses what must wait for a pending flush (its events must be archived as recorded).
    public static func checkNoFlushInProgress(_ pending: Bool) throws {
        if pending {
            throw CoordinationError(
                .busy,
                "a flush is in progress (its events must be archived as recorded): run `archiver flush`, "
                    + "then forget again")
        }
    }

    // MARK: Leases

    /// The lease `holder` gets from `acquireLease`, given the row as it stands (nil or a never-held
    /// placeholder with token 0): renewed with the same token, taken over from an expired holder with the
    /// next token, or nil while someone else holds it.
    public static func acquire(
        _ name: String, current: Lease?, holder: String, now: Double, ttlSeconds: Double
    ) -> Lease? {
        let token: Int64
        switch current {
        case nil: token = 1
        case let current? where current.holder == holder && current.expiresAt > now: token = current.fencingToken
        case let current? where current.expiresAt <= now: token = current.fencingToken + 1
        default: return nil
        }
        return Lease(name: name, holder: holder, fencingToken: token, expiresAt: now + ttlSeconds)
    }

    /// The lease `holder` gets by taking it over from a dead `previousHolder`: only while that holder still
    /// holds it (a placeholder with token 0 was never held).
    public static func takeOver(
        _ name: String, current: Lease?, from previousHolder: String, holder: String, now: Double,
        ttlSeconds: Double
    ) -> Lease? {
        guard let current, current.fencingToken > 0, current.holder == previousHolder else { return nil }
        return Lease(name: name, holder: holder, fencingToken: current.fencingToken + 1, expiresAt: now + ttlSeconds)
    }

    // MARK: Prune and pruned reads

    /// Prune never crosses the flush cursor nor the lowest subscriber checkpoint.
    public static func checkPrune(
        upTo position: Int64, flushCursor: Int64, lowestCheckpoint: ConsumerCheckpoint?
    ) throws {
        guard position <= flushCursor else {
            throw CoordinationError(
                .invalidInput, "cannot prune up to position \(position): only \(flushCursor) is archived; flush first")
        }
        if let lowest = lowestCheckpoint, lowest.position < position {
            throw CoordinationError(
                .invalidInput,
                "cannot prune up to position \(position): subscriber '\(lowest.name)' is still at \(lowest.position)")
        }
    }

    /// Reading the global order from below what was pruned.
    public static func checkReadAll(after position: Int64, prunedThrough pruned: Int64) throws {
        if position < pruned {
            throw CoordinationError(
                .prunedRange,
                "events after position \(position) up to \(pruned) were pruned from the hot store after archiving; "
                    + "read them from the archive (archiver replay, archiver lode cat)")
        }
    }

    /// Reading a stream from a version that was pruned: the first event found is above the one wanted, or
    /// none is found though the stream reached it.
    public static func checkReadStream(
        _ stream: String, from wanted: Int64, firstFound: Int64?, streamVersion: Int64
    ) throws {
        if firstFound.map({ $0 > wanted }) ?? (streamVersion >= wanted) {
            throw CoordinationError(
                .prunedRange,
                "events of stream '\(stream)' from version \(wanted) were pruned from the hot store after archiving; "
                    + "read them from the archive: archiver replay --to latest --stream '\(stream)' --exec 'cat'",
                stream: stream)
        }
    }

    /// The `restoreEvents` refusal when a position or version is already taken.
    public static func restoreConflict(_ detail: String) -> CoordinationError {
        CoordinationError(
            .invalidInput,
            "cannot restore: a position or stream version is already taken, or an event is malformed "
                + "(\(detail)); restore into an empty store")
    }
}
