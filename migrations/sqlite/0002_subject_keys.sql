-- Per-subject data keys for crypto-shredding (docs/AUDIT.md): the flusher encrypts an event's data with its
-- subject's key; `archiver forget` destroys the key (key NULL, forgotten_at set), which makes every archived
-- copy unreadable while the hash chain, which covers the ciphertext, stays intact. The row stays as a
-- tombstone so later flushes of that subject's events archive them redacted.
CREATE TABLE subject_keys (
    subject      TEXT    PRIMARY KEY,
    key          TEXT,                        -- 64 hex digits (AES-256); NULL once forgotten
    created_at   INTEGER NOT NULL,            -- microseconds since the epoch
    forgotten_at INTEGER                      -- microseconds since the epoch, when the key was destroyed
) WITHOUT ROWID;
