public import Coordination
import Foundation

// SubjectKeyStore: per-subject keys for sealed fields, and forgetting a subject.
extension PostgresCoordinationStore {
    public func subjectKey(_ subject: String, create: Bool) async throws -> SubjectKey? {
        let schema = self.schema
        return try await transaction("read a subject key") { db in
            if create {
                try db.query(
                    "INSERT INTO \(schema).subject_keys (subject, key, created_at) VALUES ($1, $2, $3) "
                        + "ON CONFLICT (subject) DO NOTHING",
                    [subject, SubjectKey.generateHex(), String(StoreRecords.nowMicros())])
            }
            let rows = try db.query(
                "SELECT key, forgotten_at FROM \(schema).subject_keys WHERE subject = $1", [subject])
            guard !rows.isEmpty else { return nil }
            return try SubjectKey.stored(
                rows.isNull(0, 0) ? nil : rows.string(0, 0), rows.isNull(0, 1) ? nil : rows.int64(0, 1))
        }
    }

    public func subjectKeys() async throws -> [String: SubjectKey] {
        let rows = try run("read subject keys", "SELECT subject, key, forgotten_at FROM \(schema).subject_keys")
        var keys: [String: SubjectKey] = [:]
        for row in 0..<rows.count {
            keys[rows.string(row, 0)] = try SubjectKey.stored(
                rows.isNull(row, 1) ? nil : rows.string(row, 1), rows.isNull(row, 2) ? nil : rows.int64(row, 2))
        }
        return keys
    }

    public func forgetSubject(
        _ subject: String, metadataField: String?, redactedData: String
    ) async throws
        -> ForgetResult
    {
        let schema = self.schema
        let result = try await transaction("forget a subject") { db in
            // The intent row lock orders this with a flusher recording its intent.
            let intent = try db.query("SELECT snapshot_id FROM \(schema).flush_intent WHERE id = 1 FOR UPDATE")
            try StoreRules.checkNoFlushInProgress(!intent.isEmpty)
            let now = String(StoreRecords.nowMicros())
            let had = try db.query(
                "SELECT key IS NOT NULL FROM \(schema).subject_keys WHERE subject = $1 FOR UPDATE", [subject])
            try db.query(
                "INSERT INTO \(schema).subject_keys AS k (subject, key, created_at, forgotten_at) "
                    + "VALUES ($1, NULL, $2, $2) ON CONFLICT (subject) DO UPDATE SET key = NULL, "
                    + "forgotten_at = coalesce(k.forgotten_at, excluded.forgotten_at)", [subject, now])
            var redacted = 0
            if let metadataField {
                redacted = try db.query(
                    "UPDATE \(schema).events SET data = $1::json WHERE metadata->>$2 = $3 "
                        + "AND json_typeof(metadata->$2) = 'string'", [redactedData, metadataField, subject]
                ).affected
            }
            return ForgetResult(destroyedKey: !had.isEmpty && had.bool(0, 0), redactedHotEvents: redacted)
        }
        // Reclaim the dead row version that still holds the key's bytes.
        _ = try? run("vacuum subject keys", "VACUUM \(schema).subject_keys")
        return result
    }
}
