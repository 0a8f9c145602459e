import ArchiveFormat
@preconcurrency public import Crypto
import Foundation
public import Lode
import RawJSON

/// Ed25519 signatures over manifests.
///
/// The signed message is the SHA-256 of a canonical text of the manifest's content: dataset id, snapshot id,
/// parent id, every file (path, size, checksum, sorted by path) and every metadata entry except the
/// signature itself (sorted by key), each value JSON-quoted so no two manifests share a text. The signature
/// and the key id go into the manifest's metadata, so the manifest stays the last write of a flush.
public enum ArchiveSigning {
    public static let signatureKey = "archiver.signature"
    public static let keyIDKey = "archiver.key_id"

    /// The digest a signature covers.
    public static func digest(
        datasetID: String, snapshotID: String, parentSnapshotID: String, files: [FileRef], metadata: [String: String]
    ) -> [UInt8] {
        var text: [UInt8] = Array("lode-archiver manifest signature v1\n".utf8)
        func field(_ name: String, _ value: String) {
            text.append(contentsOf: name.utf8)
            text.append(0x3D)  // =
            RawJSON.appendQuoted(value, to: &text)
            text.append(0x0A)
        }
        field("dataset_id", datasetID)
        field("snapshot_id", snapshotID)
        field("parent_snapshot_id", parentSnapshotID)
        for file in files.sorted(by: { Array($0.path.utf8).lexicographicallyPrecedes(Array($1.path.utf8)) }) {
            field("file", file.path)
            field("size", String(file.sizeBytes))
            field("checksum", file.checksum ?? "")
        }
        for key in metadata.keys.sorted(by: { Array($0.utf8).lexicographicallyPrecedes(Array($1.utf8)) })
        where key != signatureKey && key != keyIDKey {
            field("meta:" + key, metadata[key]!)
        }
        return Array(SHA256.hash(data: text))
    }

    /// The digest of a committed manifest.
    public static func digest(of manifest: Manifest) -> [UInt8] {
        digest(
            datasetID: manifest.datasetID, snapshotID: manifest.snapshotID,
            parentSnapshotID: manifest.parentSnapshotID ?? "", files: manifest.files,
            metadata: manifest.stringMetadata)
    }

    /// Key ids: the first 16 hex digits of SHA-256 over the raw 32-byte public key.
    public static func keyID(_ publicKey: Curve25519.Signing.PublicKey) -> String {
        String(HexCoding.encode(SHA256.hash(data: publicKey.rawRepresentation)).prefix(16))
    }
}

/// A private signing key loaded from a key file written by `archiver keys generate`.
public struct ManifestSigner: Sendable {
    public let privateKey: Curve25519.Signing.PrivateKey
    public var keyID: String { ArchiveSigning.keyID(privateKey.publicKey) }

    public init(privateKey: Curve25519.Signing.PrivateKey) {
        self.privateKey = privateKey
    }

    /// Signs a digest; returns the base64 signature.
    public func sign(_ digest: [UInt8]) throws -> String {
        try privateKey.signature(for: digest).base64EncodedString()
    }
}

/// The public keys a verifier trusts, by key id.
public struct TrustedKeys: Sendable {
    public var keys: [String: Curve25519.Signing.PublicKey]

    public init(_ keys: [Curve25519.Signing.PublicKey] = []) {
        self.keys = Dictionary(keys.map { (ArchiveSigning.keyID($0), $0) }, uniquingKeysWith: { a, _ in a })
    }

    public var isEmpty: Bool { keys.isEmpty }

    public enum Verdict: Sendable, Equatable {
        case valid(keyID: String)
        case unsigned
        case unknownKey(String)
        case invalid(keyID: String)
    }

    /// Checks a manifest's signature against the trusted keys.
    public func check(_ manifest: Manifest) -> Verdict {
        let metadata = manifest.stringMetadata
        guard let signature = metadata[ArchiveSigning.signatureKey], let keyID = metadata[ArchiveSigning.keyIDKey]
        else { return .unsigned }
        guard let key = keys[keyID] else { return .unknownKey(keyID) }
        guard let bytes = Data(base64Encoded: signature),
            key.isValidSignature(bytes, for: ArchiveSigning.digest(of: manifest))
        else { return .invalid(keyID: keyID) }
        return .valid(keyID: keyID)
    }
}

/// Key files: one line `archiver-ed25519-private <base64 raw key>` or `archiver-ed25519-public <base64>`.
public enum KeyFiles {
    public static func generate() -> (privateText: String, publicText: String, keyID: String) {
        let key = Curve25519.Signing.PrivateKey()
        return (
            "archiver-ed25519-private \(key.rawRepresentation.base64EncodedString())\n",
            "archiver-ed25519-public \(key.publicKey.rawRepresentation.base64EncodedString())\n",
            ArchiveSigning.keyID(key.publicKey)
        )
    }

    public static func loadPrivate(path: String) throws -> ManifestSigner {
        let raw = try payload(path: path, kind: "archiver-ed25519-private")
        do {
            return ManifestSigner(privateKey: try Curve25519.Signing.PrivateKey(rawRepresentation: raw))
        } catch {
            throw ArchiverError(.invalidArgument, "\(path) does not hold a valid Ed25519 private key")
        }
    }

    public static func loadPublic(path: String) throws -> Curve25519.Signing.PublicKey {
        let raw = try payload(path: path, kind: "archiver-ed25519-public")
        do {
            return try Curve25519.Signing.PublicKey(rawRepresentation: raw)
        } catch {
            throw ArchiverError(.invalidArgument, "\(path) does not hold a valid Ed25519 public key")
        }
    }

    static func payload(path: String, kind: String) throws -> Data {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
            throw ArchiverError(.missingKey, "cannot read key file \(path): check the path and its permissions")
        }
        let parts = text.split(whereSeparator: \.isWhitespace)
        guard parts.count == 2, parts[0] == kind, let raw = Data(base64Encoded: String(parts[1])), raw.count == 32
        else {
            throw ArchiverError(
                .invalidArgument, "\(path) is not an \(kind) key file (expected one line '\(kind) <base64>')")
        }
        return raw
    }
}
