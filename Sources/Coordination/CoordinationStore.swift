/// The hot side of the archiver, by role: the ``EventLog`` (stream heads, optimistic concurrency,
/// idempotency, the global order), the ``FlushLedger`` (cursor, intent), ``LeaseStore``,
/// ``SubjectKeyStore``, ``HotMaintenance`` (prune, checkpoints, status, restore) and ``StoreLifecycle``.
///
/// A use case that needs one role asks for that protocol; whatever wires a whole store (the CLI, the
/// sidecar) uses this composition. Implementations: `SQLiteCoordinationStore` (embedded default) and
/// `PostgresCoordinationStore`. Every method is safe to call concurrently. The rules both share (request
/// validation, expectations, prune and flush refusals, migrations) live once in this module:
/// ``AppendValidation``, ``StoreRules``, ``MigrationRunner``.
///
/// ```swift
/// let store = try await SQLiteCoordinationStore(path: "archiver.db")
/// try await store.migrate()
/// let result = try await store.append(
///     AppendRequest(stream: "account-42", expected: .noStream, events: [
///         ProposedEvent(type: "Opened", data: #"{"owner":"ada"}"#)
///     ]))
/// ```
public protocol CoordinationStore: EventLog, FlushLedger, LeaseStore, SubjectKeyStore, HotMaintenance,
    StoreLifecycle
{}
