-- lode-archiver coordination store, SQLite. Positions are assigned inside the single write transaction,
-- so commit order equals position order and every committed prefix is gap-free.
CREATE TABLE events (
    position    INTEGER PRIMARY KEY,          -- global position (assigned from state.head, never reused)
    stream      TEXT    NOT NULL,
    version     INTEGER NOT NULL,             -- per-stream version, 1, 2, 3, ...
    id          TEXT    NOT NULL,             -- event UUID
    type        TEXT    NOT NULL,
    data        TEXT    NOT NULL,             -- JSON text, byte for byte as appended
    metadata    TEXT    NOT NULL,             -- JSON object text, byte for byte
    recorded_at INTEGER NOT NULL,             -- microseconds since the Unix epoch, UTC
    UNIQUE (stream, version)
);

CREATE TABLE streams (
    stream        TEXT    PRIMARY KEY,
    version       INTEGER NOT NULL,
    last_position INTEGER NOT NULL
) WITHOUT ROWID;

CREATE TABLE idempotency (
    key          TEXT    PRIMARY KEY,
    request_hash TEXT    NOT NULL,            -- SHA-256 of the canonical request
    result       TEXT    NOT NULL,            -- the original result, JSON
    created_at   INTEGER NOT NULL             -- microseconds since the epoch
) WITHOUT ROWID;
CREATE INDEX idempotency_created_at ON idempotency (created_at);

-- head: last assigned position; pruned_through: highest pruned position.
CREATE TABLE state (
    name  TEXT    PRIMARY KEY,
    value INTEGER NOT NULL
) WITHOUT ROWID;
INSERT INTO state (name, value) VALUES ('head', 0), ('pruned_through', 0);

CREATE TABLE flush_cursor (
    id             INTEGER PRIMARY KEY CHECK (id = 1),
    position       INTEGER NOT NULL,
    chain_head     TEXT    NOT NULL,
    snapshot_id    TEXT    NOT NULL,
    archived_count INTEGER NOT NULL
);
INSERT INTO flush_cursor (id, position, chain_head, snapshot_id, archived_count) VALUES (1, 0, '', '', 0);

CREATE TABLE flush_intent (
    id                 INTEGER PRIMARY KEY CHECK (id = 1),
    snapshot_id        TEXT    NOT NULL,
    first_position     INTEGER NOT NULL,
    last_position      INTEGER NOT NULL,
    event_count        INTEGER NOT NULL,
    chain_start        TEXT    NOT NULL,
    chain_head         TEXT    NOT NULL,
    parent_snapshot_id TEXT    NOT NULL,
    cut_name           TEXT,
    fencing_token      INTEGER NOT NULL
);

CREATE TABLE leases (
    name          TEXT    PRIMARY KEY,
    holder        TEXT    NOT NULL,
    fencing_token INTEGER NOT NULL,
    expires_at    REAL    NOT NULL            -- seconds since the epoch
) WITHOUT ROWID;

CREATE TABLE checkpoints (
    name     TEXT    PRIMARY KEY,
    position INTEGER NOT NULL
) WITHOUT ROWID;
