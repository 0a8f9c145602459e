import ArchiveFormat
public import Coordination
import Crypto
import Foundation
import RawJSON

/// Crypto-shredding (docs/AUDIT.md "Forgetting a subject"): the `data` of an event whose metadata names a
/// subject is archived encrypted with that subject's key, so destroying the key erases every archived copy
/// while the hash chain, which covers the ciphertext, still verifies.
///
/// The archived `data` is an envelope:
/// `{"$encrypted":{"v":1,"subject":"…","nonce":"<24 hex>","ciphertext":"<base64 of AES-256-GCM ciphertext ‖ tag>"}}`
/// with the event's id and position as additional authenticated data, so a ciphertext cannot be moved to
/// another event. The nonce is derived (HMAC-SHA-256 of the key over "nonce", id and position, first 12
/// bytes) so that re-encoding a flush after a crash reproduces the same bytes and chain hash; each
/// (key, id, position) encrypts exactly one plaintext, so no nonce is reused.
public enum SubjectCipher {
    static let envelopePrefix = Array("{\"$encrypted\":".utf8)
    /// What replay and export show for the data of a forgotten subject.
    public static let forgottenData = "{\"$redacted\":\"subject forgotten\"}"
    /// What they show when the key is not available (no store given, or the key is unknown).
    public static let unavailableData = "{\"$redacted\":\"subject key unavailable\"}"

    /// True when `data` is an envelope.
    /// (Called for every replayed event: the third byte rules out almost all plain data, and `memcmp` the rest.)
    public static func isEnvelope(_ data: UnsafeRawBufferPointer) -> Bool {
        guard data.count > envelopePrefix.count, data[2] == UInt8(ascii: "$") else { return false }
        return envelopePrefix.withUnsafeBytes { memcmp($0.baseAddress!, data.baseAddress!, $0.count) == 0 }
    }

    static func aad(id: String, position: Int64) -> [UInt8] { Array("\(id)/\(position)".utf8) }

    static func nonce(key: SymmetricKey, id: String, position: Int64) throws -> AES.GCM.Nonce {
        let mac = HMAC<SHA256>.authenticationCode(for: Array("nonce/\(id)/\(position)".utf8), using: key)
        return try AES.GCM.Nonce(data: Array(mac.prefix(12)))
    }

    /// The envelope of `plaintext` for event `id` at `position`.
    public static func seal(
        _ plaintext: String, subject: String, key: [UInt8], id: String, position: Int64
    ) throws -> String {
        let symmetric = SymmetricKey(data: key)
        let nonce = try nonce(key: symmetric, id: id, position: position)
        let box = try AES.GCM.seal(
            Array(plaintext.utf8), using: symmetric, nonce: nonce, authenticating: aad(id: id, position: position))
        var out: [UInt8] = envelopePrefix
        out += Array("{\"v\":1,\"subject\":".utf8)
        RawJSON.appendQuoted(subject, to: &out)
        out += Array(",\"nonce\":\"\(nonce.withUnsafeBytes { HexCoding.encode($0) })\",\"ciphertext\":\"".utf8)
        out += Array((box.ciphertext + box.tag).base64EncodedString().utf8)
        out += Array("\"}}".utf8)
        return String(decoding: out, as: UTF8.self)
    }

    /// The subject an envelope names, or nil when `data` is not a well-formed envelope.
    public static func subject(of data: UnsafeRawBufferPointer) -> String? {
        guard isEnvelope(data), let fields = try? fields(of: data) else { return nil }
        return fields.subject
    }

    struct Fields {
        var subject: String
        var nonce: [UInt8]
        var sealed: [UInt8]
    }

    static func fields(of data: UnsafeRawBufferPointer) throws -> Fields {
        guard case .object(let outer) = try JSONValue.parse(data), case .object(let inner)? = outer["$encrypted"],
            case .number("1")? = inner["v"], case .string(let subject)? = inner["subject"],
            case .string(let nonceHex)? = inner["nonce"], let nonce = HexCoding.decode(nonceHex), nonce.count == 12,
            case .string(let sealedText)? = inner["ciphertext"], let sealed = Data(base64Encoded: sealedText),
            sealed.count >= 16
        else {
            throw ArchiverError(.unreadable, "an encrypted event's envelope is malformed")
        }
        return Fields(subject: subject, nonce: nonce, sealed: Array(sealed))
    }

    /// Opens an envelope. Returns the plaintext, ``forgottenData`` for a forgotten subject, or
    /// ``unavailableData`` when its key is not in `keys`.
    /// - Throws: ``ArchiverError`` `.tampered` when the ciphertext does not authenticate with the key.
    public static func open(
        _ data: UnsafeRawBufferPointer, keys: [String: SubjectKey], id: String, position: Int64
    ) throws -> String {
        let fields = try fields(of: data)
        switch keys[fields.subject] {
        case .forgotten?:
            return forgottenData
        case nil:
            return unavailableData
        case .active(let key)?:
            do {
                let box = try AES.GCM.SealedBox(
                    nonce: try AES.GCM.Nonce(data: fields.nonce), ciphertext: fields.sealed.dropLast(16),
                    tag: fields.sealed.suffix(16))
                let plain = try AES.GCM.open(
                    box, using: SymmetricKey(data: key), authenticating: aad(id: id, position: position))
                return String(decoding: plain, as: UTF8.self)
            } catch {
                throw ArchiverError(
                    .tampered,
                    "the encrypted data of event \(id) at position \(position) does not authenticate with its "
                        + "subject's key: it was altered or moved")
            }
        }
    }
}

/// Encrypts events for the flusher: finds each event's subject in its metadata and seals its data with the
/// subject's key (created on first use), or redacts it when the subject was forgotten.
public struct SubjectEncryptor: Sendable {
    /// The top-level metadata member holding the subject (a string).
    public let metadataField: String
    let store: any CoordinationStore
    private var cache: [String: SubjectKey] = [:]

    public init(metadataField: String, store: any CoordinationStore) {
        self.metadataField = metadataField
        self.store = store
    }

    /// The event as it is archived.
    public mutating func prepare(_ event: RecordedEvent) async throws -> RecordedEvent {
        guard let subject = Self.subject(in: event.metadata, field: metadataField) else { return event }
        let key: SubjectKey
        if let cached = cache[subject] {
            key = cached
        } else {
            guard let stored = try await store.subjectKey(subject, create: true) else {
                throw ArchiverError(.unreadable, "the coordination store did not create a key for a subject")
            }
            key = stored
            if cache.count > 100_000 { cache.removeAll() }
            cache[subject] = key
        }
        var sealed = event
        switch key {
        case .forgotten:
            sealed.data = SubjectCipher.forgottenData
        case .active(let bytes):
            sealed.data = try SubjectCipher.seal(
                event.data, subject: subject, key: bytes, id: event.id, position: event.position)
        }
        return sealed
    }

    /// The string value of top-level member `field` of a metadata object, if any.
    static func subject(in metadata: String, field: String) -> String? {
        var metadata = metadata
        return metadata.withUTF8 { buffer -> String? in
            guard var scanner = try? ObjectScanner(UnsafeRawBufferPointer(buffer)) else { return nil }
            while let member = try? scanner.next() {
                let key = UnsafeRawBufferPointer(rebasing: UnsafeRawBufferPointer(buffer)[member.key])
                guard key.elementsEqual(field.utf8) else { continue }
                let value = UnsafeRawBufferPointer(rebasing: UnsafeRawBufferPointer(buffer)[member.value])
                guard value.first == UInt8(ascii: "\"") else { return nil }
                return try? RawJSON.decodeString(value)
            }
            return nil
        }
    }
}
