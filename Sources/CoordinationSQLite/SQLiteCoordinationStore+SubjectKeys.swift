public import Coordination
import Foundation

// SubjectKeyStore: per-subject keys for sealed fields, and forgetting a subject.
extension SQLiteCoordinationStore {
    public func subjectKey(_ subject: String, create: Bool) async throws -> SubjectKey? {
        let db = try db()
        return try db.transaction {
            let select = try db.statement("SELECT key, forgotten_at FROM subject_keys WHERE subject = ?")
            defer { select.reset() }
            select.bind(1, subject)
            if try select.step() {
                return try SubjectKey.stored(
                    select.isNull(0) ? nil : select.string(0), select.isNull(1) ? nil : select.int64(1))
            }
            guard create else { return nil }
            let hex = SubjectKey.generateHex()
            let insert = try db.statement("INSERT INTO subject_keys (subject, key, created_at) VALUES (?, ?, ?)")
            insert.bind(1, subject)
            insert.bind(2, hex)
            insert.bind(3, StoreRecords.nowMicros())
            try insert.step()
            return try SubjectKey.stored(hex, nil)
        }
    }

    public func subjectKeys() async throws -> [String: SubjectKey] {
        let select = try db().statement("SELECT subject, key, forgotten_at FROM subject_keys")
        defer { select.reset() }
        var keys: [String: SubjectKey] = [:]
        while try select.step() {
            keys[select.string(0)] = try SubjectKey.stored(
                select.isNull(1) ? nil : select.string(1), select.isNull(2) ? nil : select.int64(2))
        }
        return keys
    }

    public func forgetSubject(
        _ subject: String, metadataField: String?, redactedData: String
    ) async throws
        -> ForgetResult
    {
        let db = try db()
        // Overwrite freed pages, so the key's bytes do not linger in the database file.
        try db.execute("PRAGMA secure_delete = ON")
        let result: ForgetResult = try db.transaction {
            try StoreRules.checkNoFlushInProgress(try intentRow(db) != nil)
            let now = StoreRecords.nowMicros()
            let select = try db.statement("SELECT key FROM subject_keys WHERE subject = ?")
            select.bind(1, subject)
            let hadKey = try select.step() && !select.isNull(0)
            select.reset()
            let upsert = try db.statement(
                "INSERT INTO subject_keys (subject, key, created_at, forgotten_at) VALUES (?, NULL, ?, ?) "
                    + "ON CONFLICT (subject) DO UPDATE SET key = NULL, "
                    + "forgotten_at = coalesce(subject_keys.forgotten_at, excluded.forgotten_at)")
            upsert.bind(1, subject)
            upsert.bind(2, now)
            upsert.bind(3, now)
            try upsert.step()
            var redacted = 0
            if let metadataField {
                let update = try db.statement(
                    "UPDATE events SET data = ? WHERE json_valid(metadata) AND json_extract(metadata, ?) = ? "
                        + "AND json_type(metadata, ?) = 'text'")
                let path = "$.\"" + metadataField + "\""
                update.bind(1, redactedData)
                update.bind(2, path)
                update.bind(3, subject)
                update.bind(4, path)
                try update.step()
                redacted = db.changes
            }
            return ForgetResult(destroyedKey: hadKey, redactedHotEvents: redacted)
        }
        // Move the change out of the write-ahead log into the database file (and reset the log).
        try? db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        return result
    }
}
