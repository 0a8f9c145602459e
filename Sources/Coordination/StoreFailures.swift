/// The refusals of the host or server under a store, worded once: a full disk, a permission, exhausted
/// server resources. Backends classify their codes (SQLite result codes and errno, PostgreSQL SQLSTATE) and
/// call these, so the CLI and the sidecar see one ``CoordinationError/Code`` per cause.
public enum StoreFailures {
    /// ENOSPC: SQLITE_FULL, SQLITE_IOERR with errno ENOSPC, PostgreSQL 53100 (disk_full).
    public static func diskFull(_ what: String, detail: String) -> CoordinationError {
        CoordinationError(
            .storageFull,
            "\(what): no space left on device (ENOSPC: \(detail.prefix(200))); free disk space (or prune: "
                + "`archiver prune`) and retry: the failed write was rolled back")
    }

    /// EACCES / read-only: SQLITE_READONLY, SQLITE_PERM, SQLITE_CANTOPEN with EACCES, PostgreSQL 42501.
    public static func permissionDenied(_ what: String, detail: String) -> CoordinationError {
        CoordinationError(
            .permissionDenied,
            "\(what): permission denied (EACCES or read-only: \(detail.prefix(200))); give the archiver's user "
                + "write access (the database file, its directory and its -wal/-shm files; or the PostgreSQL "
                + "role's privileges on the schema) and retry")
    }

    /// PostgreSQL 53xxx other than 53100: out of memory, too many connections, a configured limit.
    public static func resourcesExhausted(_ what: String, detail: String) -> CoordinationError {
        CoordinationError(
            .resourcesExhausted,
            "\(what): the database server is out of resources (\(detail.prefix(200))); raise its limit "
                + "(max_connections, memory) or reduce the load, and retry")
    }
}
