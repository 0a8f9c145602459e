/// The part of an export bundle's README that lets an auditor check manifest signatures with common tools
/// alone: the formats of the public key, the signature and the signed text, and two ways to verify Ed25519.
enum BundleReadme {
    /// Appended to the README after "Checking it"; plain text, no values of the bundle.
    static let signatures = #"""
        ## Signature formats

        - Public key file (from the archive owner, never from the bundle): one line
          `archiver-ed25519-public BASE64`, the base64 of the raw 32-byte Ed25519 public key. Its key id, which
          manifests name in `archiver.key_id`, is the first 16 hex digits of SHA-256 over those 32 bytes.
        - Signature: `archiver.signature` in a manifest's `metadata`, the base64 of a 64-byte Ed25519 signature.
        - Signed message: the 32 bytes of SHA-256 over the signed text below (Ed25519 signs the digest, not the
          text itself).
        - Signed text (UTF-8), one line per field, each `name=value` followed by `\n`, the value as a JSON
          string (quoted, with `"` and `\` escaped; the values are plain ASCII):

              lode-archiver manifest signature v1
              dataset_id="<dataset_id>"
              snapshot_id="<snapshot_id>"
              parent_snapshot_id="<parent_snapshot_id, or empty for the first snapshot>"
              file="<path>"                  three lines per entry of `files`, in byte order of path:
              size="<size_bytes>"            the size as a decimal string
              checksum="<checksum>"
              meta:<key>="<value>"           every string entry of `metadata` except archiver.signature and
                                             archiver.key_id, in byte order of key

        ## Checking a signature without archiver

        With Python and the `cryptography` package (`pip install cryptography`):

            python3 check_signature.py manifests/<snapshot>.json archive.pub

        where check_signature.py is:

            import base64, hashlib, json, sys
            from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
            m = json.load(open(sys.argv[1]))
            kind, key = open(sys.argv[2]).read().split()   # archiver-ed25519-public BASE64
            q = lambda v: json.dumps(v, ensure_ascii=False)
            lines = ["lode-archiver manifest signature v1", "dataset_id=" + q(m["dataset_id"]),
                     "snapshot_id=" + q(m["snapshot_id"]),
                     "parent_snapshot_id=" + q(m.get("parent_snapshot_id") or "")]
            for f in sorted(m["files"], key=lambda f: f["path"].encode()):
                lines += ["file=" + q(f["path"]), "size=" + q(str(f["size_bytes"])),
                          "checksum=" + q(f.get("checksum") or "")]
            meta = {k: v for k, v in m["metadata"].items() if isinstance(v, str)}
            for k in sorted(meta, key=str.encode):
                if k not in ("archiver.signature", "archiver.key_id"):
                    lines.append("meta:" + k + "=" + q(meta[k]))
            digest = hashlib.sha256(("\n".join(lines) + "\n").encode()).digest()
            Ed25519PublicKey.from_public_bytes(base64.b64decode(key)).verify(
                base64.b64decode(meta["archiver.signature"]), digest)   # raises InvalidSignature
            print("signature OK:", m["snapshot_id"])

        With OpenSSL 3 and jq, no Python: build the signed text and its digest, wrap the raw public key in a
        PEM (the 12-byte DER prefix of an Ed25519 SubjectPublicKeyInfo), decode the signature, and verify:

            M=manifests/<snapshot>.json
            jq -j '"lode-archiver manifest signature v1\n",
              "dataset_id=\(.dataset_id|tojson)\n", "snapshot_id=\(.snapshot_id|tojson)\n",
              "parent_snapshot_id=\((.parent_snapshot_id // "")|tojson)\n",
              (.files | sort_by(.path|explode) | .[] |
                "file=\(.path|tojson)\nsize=\(.size_bytes|tostring|tojson)\nchecksum=\((.checksum // "")|tojson)\n"),
              (.metadata | to_entries | map(select((.value|type) == "string" and .key != "archiver.signature"
                 and .key != "archiver.key_id")) | sort_by(.key|explode) | .[] | "meta:\(.key)=\(.value|tojson)\n")' \
              "$M" | openssl dgst -sha256 -binary > digest.bin
            { echo "-----BEGIN PUBLIC KEY-----"
              { printf '\x30\x2a\x30\x05\x06\x03\x2b\x65\x70\x03\x21\x00'; cut -d' ' -f2 archive.pub | base64 -d; } | base64
              echo "-----END PUBLIC KEY-----"; } > archive.pem
            jq -r '.metadata["archiver.signature"]' "$M" | base64 -d > sig.bin
            openssl pkeyutl -verify -pubin -inkey archive.pem -rawin -in digest.bin -sigfile sig.bin
            # Signature Verified Successfully

        """#
}
